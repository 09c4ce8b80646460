/* Credential create, read, rotate and revoke over the key hierarchy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "vault/vault.h"

static const char *const cred_types[] = {
	"private_key", "api_token", "database_password", "service_account",
	NULL,
};

bool
zg_cred_type_valid(const char *type)
{
	for (const char *const *t = cred_types; *t != NULL; t++)
		if (strcmp(*t, type) == 0)
			return true;
	return false;
}

const char *
zg_cred_types_list(void)
{
	return "private_key, api_token, database_password, service_account";
}

bool
zg_cred_id_valid(const char *id)
{
	if (strncmp(id, "cred_", 5) != 0 || strlen(id) != 5 + 32)
		return false;
	for (const char *p = id + 5; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

zg_err
zg_make_id(const char *prefix, size_t nbytes, char *out, size_t outsz)
{
	uint8_t rnd[32];
	size_t plen = strlen(prefix);
	if (nbytes > sizeof(rnd) || plen + 2 * nbytes + 1 > outsz)
		return ZG_ERR_INTERNAL;
	zg_err err = zg_random(rnd, nbytes);
	if (err != ZG_OK)
		return err;
	memcpy(out, prefix, plen);
	zg_hex_encode(rnd, nbytes, out + plen);
	return ZG_OK;
}

/* Builds the AAD that binds a version blob to its record. */
static zg_err
record_aad(const char *id, uint32_t version, const char *type,
    const char *owner, zg_buf *aad)
{
	zg_err err;
	if ((err = zg_buf_append_str(aad, "zguard/credential")) != ZG_OK ||
	    (err = zg_buf_append_lp(aad, id, strlen(id))) != ZG_OK ||
	    (err = zg_buf_append_u32be(aad, version)) != ZG_OK ||
	    (err = zg_buf_append_lp(aad, type, strlen(type))) != ZG_OK)
		return err;
	return zg_buf_append_lp(aad, owner, strlen(owner));
}

/* Encrypts value for (c, version) into a fresh blob in *blob. */
static zg_err
seal_version(zg_vault *v, const zg_cred_row *c, uint32_t version,
    const uint8_t *value, size_t len, zg_buf *blob)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf aad = ZG_BUF_INIT;
	/* A data key lives on the stack for one request and is wiped; the
	 * locked heap, whose allocator takes a global lock, is kept for
	 * long-lived keys. */
	uint8_t dek_buf[ZG_KEY_LEN];
	uint8_t *dek = dek_buf;
	zg_ct_header h = {ZG_CT_FORMAT_V1, ZG_CT_ALG_AES256GCM, 0, 0};

	if ((err = zg_random(dek, ZG_KEY_LEN)) != ZG_OK)
		goto out;
	if ((err = record_aad(c->id, version, c->type, c->owner, &aad)) != ZG_OK)
		goto out;
	if ((err = zg_keyring_wrap_dek(v->kr, dek, aad.data, aad.len, blob)) != ZG_OK)
		goto out;
	if ((err = zg_seal_blob(dek, &h, aad.data, aad.len, value, len,
	    blob)) != ZG_OK)
		goto out;
	/* success */
	err = ZG_OK;
out:
	zg_wipe(dek_buf, sizeof(dek_buf));
	zg_buf_free(&aad);
	return err;
}

static zg_err
open_version(zg_vault *v, const zg_cred_row *c, const zg_cred_version_row *vr,
    uint8_t **value, size_t *len)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf aad = ZG_BUF_INIT;
	uint8_t dek_buf[ZG_KEY_LEN]; /* wiped below, as in seal_version */
	uint8_t *dek = dek_buf;
	uint8_t *pt = NULL;
	size_t used = 0, n = 0;

	if ((err = record_aad(c->id, vr->version, c->type, c->owner, &aad)) != ZG_OK)
		goto out;
	if ((err = zg_keyring_unwrap_dek(v->kr, vr->blob, vr->blob_len,
	    aad.data, aad.len, dek, &used)) != ZG_OK)
		goto out;
	if (vr->blob_len - used < ZG_CT_OVERHEAD) {
		err = ZG_ERR_INTEGRITY;
		goto out;
	}
	if ((pt = malloc(vr->blob_len - used - ZG_CT_OVERHEAD + 1)) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if ((err = zg_open_blob(dek, vr->blob + used, vr->blob_len - used,
	    aad.data, aad.len, pt, &n)) != ZG_OK)
		goto out;
	pt[n] = '\0';
	*value = pt;
	*len = n;
	pt = NULL; /* owned by the caller now */
	/* success */
	err = ZG_OK;
out:
	if (err == ZG_ERR_INTEGRITY)
		zg_log_error("credential version failed its integrity check",
		    ZGF_S("cred_id", c->id), ZGF_I("version", vr->version));
	zg_wipe(dek_buf, sizeof(dek_buf));
	free(pt);
	zg_buf_free(&aad);
	return err;
}

zg_err
zg_vault_cred_create(zg_vault *v, const char *owner, const zg_cred_input *in,
    zg_cred_row *out, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf blob = ZG_BUF_INIT;
	zg_cred_row c;
	zg_cred_version_row vr;
	int64_t now = zg_time_now_us();

	memset(&c, 0, sizeof(c));
	memset(&vr, 0, sizeof(vr));
	if ((err = zg_make_id("cred_", 16, c.id, sizeof(c.id))) != ZG_OK)
		goto out;
	snprintf(c.owner, sizeof(c.owner), "%s", owner);
	snprintf(c.name, sizeof(c.name), "%s", in->name);
	snprintf(c.type, sizeof(c.type), "%s", in->type);
	c.metadata_json = strdup(in->metadata_json ? in->metadata_json : "{}");
	c.permissions_json = strdup(in->permissions_json ?
	    in->permissions_json : "[]");
	if (c.metadata_json == NULL || c.permissions_json == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	c.current_version = 1;
	c.created_at = c.updated_at = now;
	c.expires_at = in->expires_at;
	if ((err = seal_version(v, &c, 1, in->value, in->value_len, &blob)) != ZG_OK)
		goto out;
	snprintf(vr.cred_id, sizeof(vr.cred_id), "%s", c.id);
	vr.version = 1;
	vr.blob = blob.data;
	vr.blob_len = blob.len;
	vr.created_at = now;
	err = v->st->ops->cred_insert(v->st, &c, &vr);
	if (err == ZG_ERR_CONFLICT) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(in->name, q, sizeof(q));
		zg_fail(em, err, "a credential named \"%s\" already exists for "
		    "this owner", q);
		goto out;
	}
	if (err != ZG_OK)
		goto out;
	*out = c;
	memset(&c, 0, sizeof(c)); /* strings owned by *out now */
	/* success */
	err = ZG_OK;
out:
	zg_cred_row_free(&c);
	zg_buf_free(&blob);
	return err;
}

/* Fails for a credential that can no longer be read or changed. */
static zg_err
check_usable(const zg_cred_row *c, int64_t now, zg_errmsg *em)
{
	if (c->revoked_at != 0)
		return zg_fail(em, ZG_ERR_REVOKED,
		    "credential %s was revoked and its keys destroyed", c->id);
	if (c->expires_at != 0 && now >= c->expires_at)
		return zg_fail(em, ZG_ERR_EXPIRED, "credential %s has expired",
		    c->id);
	return ZG_OK;
}

zg_err
zg_vault_cred_value(zg_vault *v, const zg_cred_row *c, uint32_t version,
    int64_t now, uint8_t **value, size_t *len, uint32_t *out_version,
    zg_errmsg *em)
{
	zg_err err;
	zg_cred_version_row vr;

	memset(&vr, 0, sizeof(vr));
	*value = NULL;
	*len = 0;
	if ((err = check_usable(c, now, em)) != ZG_OK)
		return err;
	if (version == 0)
		version = c->current_version;
	err = v->st->ops->cred_get_version(v->st, c->id, version, &vr);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(em, err, "credential %s has no version %u; the "
		    "current version is %u", c->id, version, c->current_version);
	if (err != ZG_OK)
		return err;
	if (vr.blob == NULL) {
		err = zg_fail(em, ZG_ERR_REVOKED,
		    "credential %s was revoked and its keys destroyed", c->id);
	} else {
		err = open_version(v, c, &vr, value, len);
		if (err == ZG_ERR_INTEGRITY)
			zg_fail(em, err, "credential %s version %u failed its "
			    "integrity check; the stored data was altered",
			    c->id, version);
	}
	if (err == ZG_OK)
		*out_version = version;
	zg_cred_version_row_free(&vr);
	return err;
}

zg_err
zg_vault_cred_rotate(zg_vault *v, zg_cred_row *c, const uint8_t *value,
    size_t value_len, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf blob = ZG_BUF_INIT;
	zg_cred_version_row vr;
	char generated[65];
	int64_t now = zg_time_now_us();

	memset(&vr, 0, sizeof(vr));
	if ((err = check_usable(c, now, em)) != ZG_OK)
		goto out;
	if (value == NULL) {
		uint8_t rnd[32];
		if ((err = zg_random(rnd, sizeof(rnd))) != ZG_OK)
			goto out;
		zg_hex_encode(rnd, sizeof(rnd), generated);
		zg_wipe(rnd, sizeof(rnd));
		value = (const uint8_t *)generated;
		value_len = 64;
	}
	uint32_t next = c->current_version + 1;
	if ((err = seal_version(v, c, next, value, value_len, &blob)) != ZG_OK)
		goto out;
	snprintf(vr.cred_id, sizeof(vr.cred_id), "%s", c->id);
	vr.version = next;
	vr.blob = blob.data;
	vr.blob_len = blob.len;
	vr.created_at = now;
	err = v->st->ops->cred_add_version(v->st, &vr, now);
	if (err == ZG_ERR_CONFLICT) {
		zg_fail(em, err, "credential %s was rotated concurrently; read "
		    "it again and retry", c->id);
		goto out;
	}
	if (err == ZG_ERR_REVOKED) {
		zg_fail(em, err, "credential %s was revoked", c->id);
		goto out;
	}
	if (err != ZG_OK)
		goto out;
	c->current_version = next;
	c->updated_at = now;
	/* success */
	err = ZG_OK;
out:
	zg_wipe(generated, sizeof(generated));
	zg_buf_free(&blob);
	return err;
}

zg_err
zg_vault_cred_revoke(zg_vault *v, zg_cred_row *c, zg_errmsg *em)
{
	int64_t now = zg_time_now_us();
	if (c->revoked_at != 0)
		return ZG_OK;
	zg_err err = v->st->ops->cred_revoke(v->st, c->id, now);
	if (err != ZG_OK)
		return err;
	c->revoked_at = now;
	c->updated_at = now;
	zg_log_info("credential revoked", ZGF_S("cred_id", c->id));
	return ZG_OK;
}
