/*
 * The JSON of signing keys: the bodies stored in the key and version rows,
 * and the API form of a key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/jsonutil.h"
#include "crypto/secp256k1.h"
#include "keys/keys_internal.h"

static const char *const state_names[] = {
	[ZG_KEY_VERSION_ACTIVE] = "active",
	[ZG_KEY_VERSION_DISABLED] = "disabled",
	[ZG_KEY_VERSION_DESTROYED] = "destroyed",
};

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

zg_err
zg_key_parse_body(const zg_obj_row *row, zg_key *key)
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

zg_err
zg_key_parse_version_body(const zg_obj_row *row, zg_key_version *v)
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
	zg_err err = zg_key_parse_body(krow, key);
	if (err != ZG_OK)
		return err;
	if (nv > 0 && (key->versions = calloc(nv, sizeof(zg_key_version))) == NULL)
		return ZG_ERR_NOMEM;
	for (size_t i = 0; i < nv; i++) {
		if ((err = zg_key_parse_version_body(&vrows[i], &key->versions[i])) !=
		    ZG_OK) {
			zg_key_free(key);
			return err;
		}
	}
	key->nversions = nv;
	/* Ids sort as text ("key_x/10" before "key_x/2"), so order here. */
	qsort(key->versions, nv, sizeof(zg_key_version), version_cmp);
	return ZG_OK;
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
