/*
 * Backup bundles of software keys, encrypted under a passphrase.
 *
 * Layout (integers big-endian):
 *
 *   bytes 0-3    magic "ZGKB"
 *   byte 4       format version (1)
 *   bytes 5-16   Argon2id t_cost, m_cost_kib, parallelism (u32 each)
 *   bytes 17-32  salt (16 random bytes)
 *   bytes 33-44  AES-256-GCM nonce (12 random bytes)
 *   then         ciphertext | tag (16)
 *
 * The key is Argon2id(passphrase, salt) with the stored costs, and bytes
 * 0-44 are the GCM AAD, so changing a cost or the salt breaks the tag.
 *
 * The plaintext exists only in the locked heap:
 *
 *   u32 key count, then per key:
 *     u32 length, JSON {"id","owner","exportable","key":{key body},
 *                       "versions":[{version body}, ...]}
 *     per entry of "versions", in order: one byte 1 and the 32-byte
 *     private key, or one byte 0 (destroyed, or not exportable)
 *
 * PKCS#11 keys appear with "exportable":false and every flag 0.
 */
#include <stdlib.h>
#include <string.h>

#include "keys/keys_internal.h"

#define BUNDLE_MAGIC "ZGKB"
#define BUNDLE_VERSION 1
#define BUNDLE_SALT_LEN 16
#define BUNDLE_HEADER_LEN (4 + 1 + 12 + BUNDLE_SALT_LEN + ZG_GCM_NONCE_LEN)
#define LIST_PAGE 100
#define ENTRY_LEN (1 + ZG_SOFT_PRIV_LEN)

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* The bundle's JSON description of key, without key material. */
static char *
key_meta(const zg_key *key)
{
	json_t *o = json_object(), *vs = json_array(), *body = NULL;
	char *text = NULL, *s;
	int rc = 0;

	if (o == NULL || vs == NULL || (text = zg_key_body(key)) == NULL ||
	    (body = json_loads(text, 0, NULL)) == NULL) {
		free(text);
		text = NULL;
		goto out;
	}
	rc |= json_object_set_new(o, "id", json_string(key->id));
	rc |= json_object_set_new(o, "owner", json_string(key->owner));
	rc |= json_object_set_new(o, "exportable",
	    json_boolean(key->backend == ZG_KEY_BACKEND_SOFTWARE));
	rc |= json_object_set(o, "key", body);
	for (size_t i = 0; i < key->nversions; i++) {
		s = zg_key_version_body(&key->versions[i]);
		rc |= json_array_append_new(vs, s ? json_loads(s, 0, NULL) : NULL);
		free(s);
	}
	rc |= json_object_set(o, "versions", vs);
	free(text);
	text = NULL;
	if (rc == 0) {
		text = zg_key_json_text(o);
		o = NULL;
	}
out:
	json_decref(body);
	json_decref(vs);
	json_decref(o);
	return text;
}

/* Writes the private keys of key's versions as entries at p. */
static zg_err
write_entries(zg_keys *k, const zg_key *key, uint8_t *p)
{
	for (size_t i = 0; i < key->nversions; i++, p += ENTRY_LEN) {
		const zg_key_version *v = &key->versions[i];
		char vid[ZG_OBJ_ID_MAX];
		zg_obj_row row;
		zg_err err;

		p[0] = 0;
		if (key->backend != ZG_KEY_BACKEND_SOFTWARE ||
		    v->state == ZG_KEY_VERSION_DESTROYED)
			continue;
		zg_key_version_id(key->id, v->version, vid);
		memset(&row, 0, sizeof(row));
		if ((err = k->st->ops->obj_get(k->st, ZG_KEY_VERSION_KIND, vid,
		    &row)) != ZG_OK)
			return err;
		if (row.blob != NULL) {
			err = zg_soft_open(k->kr, key->id, v->version, key->alg,
			    row.blob, row.blob_len, p + 1);
			p[0] = 1;
		}
		zg_obj_row_free(&row);
		if (err != ZG_OK)
			return err;
	}
	return ZG_OK;
}

/* Derives the bundle key from the passphrase and the header's costs. */
static zg_err
bundle_key(const uint8_t *header, const uint8_t *pass, size_t pass_len,
    uint8_t key[ZG_KEY_LEN])
{
	zg_argon2_params params = {get_u32(header + 5), get_u32(header + 9),
	    get_u32(header + 13)};
	return zg_argon2id(&params, pass, pass_len, header + 17,
	    BUNDLE_SALT_LEN, NULL, 0, NULL, 0, key, ZG_KEY_LEN);
}

zg_err
zg_keys_backup(zg_keys *k, const char *owner, const uint8_t *pass,
    size_t pass_len, const zg_argon2_params *params, zg_buf *out,
    size_t *exported, size_t *not_exportable, zg_errmsg *em)
{
	zg_argon2_params cost = params ? *params : ZG_ARGON2_DEFAULT_PARAMS;
	zg_key *keys = NULL, *page = NULL;
	size_t nkeys = 0, npage = 0, total = 4, soft = 0;
	char **metas = NULL, after[ZG_ID_MAX] = "";
	uint8_t header[BUNDLE_HEADER_LEN], tag[ZG_GCM_TAG_LEN];
	uint8_t *pt = NULL, *key = NULL;
	zg_err err = ZG_ERR_INTERNAL;

	/* Collect every key of owner, page by page. */
	do {
		if ((err = zg_keys_list(k, owner, after, LIST_PAGE, &page, &npage,
		    em)) != ZG_OK)
			goto out;
		zg_key *grown = realloc(keys, (nkeys + npage + 1) * sizeof(*keys));
		if (grown == NULL) {
			err = ZG_ERR_NOMEM;
			goto out;
		}
		keys = grown;
		memcpy(keys + nkeys, page, npage * sizeof(*keys));
		nkeys += npage;
		free(page); /* the keys' versions now belong to keys */
		page = NULL;
		if (npage > 0)
			memcpy(after, keys[nkeys - 1].id, sizeof(after));
	} while (npage == LIST_PAGE);

	if ((metas = calloc(nkeys + 1, sizeof(*metas))) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if ((metas[i] = key_meta(&keys[i])) == NULL) {
			err = ZG_ERR_NOMEM;
			goto out;
		}
		total += 4 + strlen(metas[i]) + keys[i].nversions * ENTRY_LEN;
		soft += keys[i].backend == ZG_KEY_BACKEND_SOFTWARE;
	}

	/* Build the plaintext in the locked heap. */
	if ((pt = zg_secure_alloc(total)) == NULL ||
	    (key = zg_secure_alloc(ZG_KEY_LEN)) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	uint8_t *p = pt;
	put_u32(p, (uint32_t)nkeys);
	p += 4;
	for (size_t i = 0; i < nkeys; i++) {
		size_t len = strlen(metas[i]);
		put_u32(p, (uint32_t)len);
		memcpy(p + 4, metas[i], len);
		p += 4 + len;
		if ((err = write_entries(k, &keys[i], p)) != ZG_OK) {
			zg_fail(em, err, "could not read the private key of key %s "
			    "for the backup", keys[i].id);
			goto out;
		}
		p += keys[i].nversions * ENTRY_LEN;
	}

	/* Encrypt it under the passphrase. */
	memcpy(header, BUNDLE_MAGIC, 4);
	header[4] = BUNDLE_VERSION;
	put_u32(header + 5, cost.t_cost);
	put_u32(header + 9, cost.m_cost_kib);
	put_u32(header + 13, cost.parallelism);
	if ((err = zg_random(header + 17, BUNDLE_SALT_LEN + ZG_GCM_NONCE_LEN)) != ZG_OK ||
	    (err = bundle_key(header, pass, pass_len, key)) != ZG_OK)
		goto out;
	/* Encrypted in place, so the plaintext never leaves the locked heap. */
	if ((err = zg_aes_gcm_encrypt(key, header + 17 + BUNDLE_SALT_LEN,
	    header, sizeof(header), pt, total, pt, tag)) != ZG_OK)
		goto out;
	size_t start = out->len;
	if ((err = zg_buf_append(out, header, sizeof(header))) != ZG_OK ||
	    (err = zg_buf_append(out, pt, total)) != ZG_OK ||
	    (err = zg_buf_append(out, tag, sizeof(tag))) != ZG_OK) {
		out->len = start;
		goto out;
	}
	if (exported != NULL)
		*exported = soft;
	if (not_exportable != NULL)
		*not_exportable = nkeys - soft;
	/* success */
	err = ZG_OK;
out:
	zg_secure_free(key, ZG_KEY_LEN);
	zg_secure_free(pt, total);
	for (size_t i = 0; metas != NULL && i < nkeys; i++)
		free(metas[i]);
	free(metas);
	zg_keys_free(page, npage);
	zg_keys_free(keys, nkeys);
	return err;
}

/* The rows of a restore, written in one obj_apply. */
struct restore_rows {
	zg_obj_row *rows;
	size_t n, cap;
};

static zg_obj_row *
add_row(struct restore_rows *r)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		zg_obj_row *grown = realloc(r->rows, cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		r->rows = grown;
		r->cap = cap;
	}
	zg_obj_row *row = &r->rows[r->n++];
	memset(row, 0, sizeof(*row));
	return row;
}

/*
 * Adds the rows of one exportable key from the plaintext at *p (of *left
 * bytes after its JSON), sealing each private key under k's keyring.
 */
static zg_err
restore_key(zg_keys *k, json_t *meta, const uint8_t **p, size_t *left,
    struct restore_rows *r, zg_errmsg *em)
{
	const char *id, *owner, *alg_name;
	json_t *body, *versions, *vb;
	enum zg_key_alg alg;
	json_int_t created, updated, version;
	zg_obj_row existing, *row;
	size_t i;
	zg_err err;

	if (json_unpack(meta, "{s:s, s:s, s:o, s:o}", "id", &id, "owner",
	    &owner, "key", &body, "versions", &versions) != 0 ||
	    !zg_key_id_valid(id) || !json_is_array(versions) ||
	    json_unpack(body, "{s:s, s:I, s:I}", "algorithm", &alg_name,
	    "createdAt", &created, "updatedAt", &updated) != 0 ||
	    zg_key_alg_parse(alg_name, &alg, NULL) != ZG_OK ||
	    *left < json_array_size(versions) * ENTRY_LEN)
		return ZG_ERR_INTEGRITY;
	memset(&existing, 0, sizeof(existing));
	err = k->st->ops->obj_get(k->st, ZG_KEY_KIND, id, &existing);
	zg_obj_row_free(&existing);
	if (err == ZG_OK)
		return zg_fail(em, ZG_ERR_CONFLICT, "key %s already exists in "
		    "this data directory; nothing was restored", id);
	if (err != ZG_ERR_NOT_FOUND)
		return err;
	if ((row = add_row(r)) == NULL)
		return ZG_ERR_NOMEM;
	snprintf(row->kind, sizeof(row->kind), "%s", ZG_KEY_KIND);
	snprintf(row->id, sizeof(row->id), "%s", id);
	snprintf(row->owner, sizeof(row->owner), "%s", owner);
	row->created_at = created;
	row->updated_at = updated;
	json_incref(body);
	if ((row->body_json = zg_key_json_text(body)) == NULL)
		return ZG_ERR_NOMEM;
	json_array_foreach(versions, i, vb) {
		const uint8_t *entry = *p + i * ENTRY_LEN;
		zg_buf blob = ZG_BUF_INIT;
		if (json_unpack(vb, "{s:I, s:I}", "version", &version,
		    "createdAt", &created) != 0 || version < 1 ||
		    version > UINT32_MAX || entry[0] > 1)
			return ZG_ERR_INTEGRITY;
		if ((row = add_row(r)) == NULL)
			return ZG_ERR_NOMEM;
		snprintf(row->kind, sizeof(row->kind), "%s", ZG_KEY_VERSION_KIND);
		zg_key_version_id(id, (uint32_t)version, row->id);
		snprintf(row->owner, sizeof(row->owner), "%s", owner);
		row->created_at = created;
		row->updated_at = created;
		json_incref(vb);
		if ((row->body_json = zg_key_json_text(vb)) == NULL)
			return ZG_ERR_NOMEM;
		if (entry[0] == 1) {
			if ((err = zg_soft_seal(k->kr, id, (uint32_t)version, alg,
			    entry + 1, &blob)) != ZG_OK)
				return err;
			row->blob = blob.data; /* owned by the row now */
			row->blob_len = blob.len;
		}
	}
	*p += json_array_size(versions) * ENTRY_LEN;
	*left -= json_array_size(versions) * ENTRY_LEN;
	return ZG_OK;
}

/* Parses the plaintext and collects the rows to write. */
static zg_err
restore_parse(zg_keys *k, const uint8_t *pt, size_t len,
    struct restore_rows *r, size_t *restored, size_t *skipped, zg_errmsg *em)
{
	if (len < 4)
		return ZG_ERR_INTEGRITY;
	uint32_t count = get_u32(pt);
	const uint8_t *p = pt + 4;
	size_t left = len - 4;

	for (uint32_t i = 0; i < count; i++) {
		if (left < 4 || left - 4 < get_u32(p))
			return ZG_ERR_INTEGRITY;
		size_t mlen = get_u32(p);
		json_t *meta = json_loadb((const char *)p + 4, mlen, 0, NULL);
		p += 4 + mlen;
		left -= 4 + mlen;
		json_t *ex = meta ? json_object_get(meta, "exportable") : NULL;
		zg_err err = ZG_ERR_INTEGRITY;
		if (json_is_true(ex)) {
			err = restore_key(k, meta, &p, &left, r, em);
			*restored += err == ZG_OK;
		} else if (json_is_false(ex)) {
			size_t skip = json_array_size(json_object_get(meta,
			    "versions")) * ENTRY_LEN;
			err = skip <= left ? ZG_OK : ZG_ERR_INTEGRITY;
			p += err == ZG_OK ? skip : 0;
			left -= err == ZG_OK ? skip : 0;
			*skipped += err == ZG_OK;
		}
		json_decref(meta);
		if (err != ZG_OK)
			return err;
	}
	return left == 0 ? ZG_OK : ZG_ERR_INTEGRITY;
}

/* A decrypted bundle: the plaintext, in the locked heap. */
struct zg_keys_bundle {
	uint8_t *pt;
	size_t len;
};

zg_err
zg_keys_bundle_open(const uint8_t *bundle, size_t len, const uint8_t *pass,
    size_t pass_len, zg_keys_bundle **out, zg_errmsg *em)
{
	zg_keys_bundle *b = NULL;
	uint8_t *key = NULL;
	zg_err err = ZG_ERR_INTERNAL;

	*out = NULL;
	if (len < BUNDLE_HEADER_LEN + ZG_GCM_TAG_LEN ||
	    memcmp(bundle, BUNDLE_MAGIC, 4) != 0 || bundle[4] != BUNDLE_VERSION)
		return zg_fail(em, ZG_ERR_INVALID, "the file is not a zguard key "
		    "backup of format version %d", BUNDLE_VERSION);
	/* Costs above the defaults' 16 times are refused, so a crafted
	 * bundle cannot make the restore allocate without bound. */
	if (get_u32(bundle + 9) > 16 * ZG_ARGON2_DEFAULT_PARAMS.m_cost_kib ||
	    get_u32(bundle + 5) > 64 || get_u32(bundle + 13) > 64)
		return zg_fail(em, ZG_ERR_INVALID, "the backup asks for Argon2id "
		    "costs above this server's limits");
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return ZG_ERR_NOMEM;
	b->len = len - BUNDLE_HEADER_LEN - ZG_GCM_TAG_LEN;
	if ((b->pt = zg_secure_alloc(b->len ? b->len : 1)) == NULL ||
	    (key = zg_secure_alloc(ZG_KEY_LEN)) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if ((err = bundle_key(bundle, pass, pass_len, key)) != ZG_OK) {
		zg_fail(em, err, "could not derive the backup key from the "
		    "passphrase");
		goto out;
	}
	err = zg_aes_gcm_decrypt(key, bundle + 17 + BUNDLE_SALT_LEN, bundle,
	    BUNDLE_HEADER_LEN, bundle + BUNDLE_HEADER_LEN, b->len,
	    bundle + len - ZG_GCM_TAG_LEN, b->pt);
	if (err == ZG_ERR_INTEGRITY) {
		err = zg_fail(em, ZG_ERR_BAD_PASSPHRASE, "the passphrase is wrong "
		    "or the backup was altered");
		goto out;
	}
	if (err != ZG_OK)
		goto out;
	/* success */
	*out = b;
	b = NULL;
	err = ZG_OK;
out:
	zg_secure_free(key, ZG_KEY_LEN);
	zg_keys_bundle_free(b);
	return err;
}

void
zg_keys_bundle_free(zg_keys_bundle *b)
{
	if (b == NULL)
		return;
	zg_secure_free(b->pt, b->len ? b->len : 1);
	free(b);
}

zg_err
zg_keys_restore_bundle(zg_keys *k, const zg_keys_bundle *b, size_t *restored,
    size_t *skipped, zg_errmsg *em)
{
	struct restore_rows r = {NULL, 0, 0};
	zg_obj_row counter;
	zg_obj_op *ops = NULL;
	size_t nrestored = 0, nskipped = 0, failed = 0;
	zg_err err = ZG_ERR_INTERNAL;

	err = restore_parse(k, b->pt, b->len, &r, &nrestored, &nskipped, em);
	if (err == ZG_ERR_INTEGRITY)
		zg_fail(em, err, "the backup decrypts but its contents are "
		    "malformed");
	if (err != ZG_OK)
		goto out;
	if ((ops = calloc(r.n + 1, sizeof(*ops))) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < r.n; i++)
		ops[i] = (zg_obj_op){ZG_OBJ_PUT, &r.rows[i], ZG_REV_NEW, 0};
	/* The counter op comes last, so a conflict's index names a row. */
	zg_keys_counter_op(&counter, &ops[r.n]);
	err = r.n ? k->st->ops->obj_apply(k->st, ops, r.n + 1, &failed) : ZG_OK;
	if (err == ZG_ERR_CONFLICT && failed < r.n) {
		zg_fail(em, err, "%s already exists in this data directory; "
		    "nothing was restored", r.rows[failed].id);
		goto out;
	}
	if (err != ZG_OK)
		goto out;
	if (restored != NULL)
		*restored = nrestored;
	if (skipped != NULL)
		*skipped = nskipped;
	/* success */
	err = ZG_OK;
out:
	free(ops);
	for (size_t i = 0; i < r.n; i++)
		zg_obj_row_free(&r.rows[i]);
	free(r.rows);
	return err;
}

zg_err
zg_keys_restore(zg_keys *k, const uint8_t *bundle, size_t len,
    const uint8_t *pass, size_t pass_len, size_t *restored, size_t *skipped,
    zg_errmsg *em)
{
	zg_keys_bundle *b = NULL;
	zg_err err;

	if ((err = zg_keys_bundle_open(bundle, len, pass, pass_len, &b,
	    em)) != ZG_OK)
		return err;
	err = zg_keys_restore_bundle(k, b, restored, skipped, em);
	zg_keys_bundle_free(b);
	return err;
}
