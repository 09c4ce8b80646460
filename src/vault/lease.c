/*
 * One-time leases. A lease token is 32 random bytes in hex behind "zgl_";
 * the store keeps only HMAC-SHA-256 of it under the system key
 * "lease_hmac", so a copy of the database cannot redeem anything.
 */
#include <stdio.h>
#include <string.h>

#include "base/codec.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "vault/vault.h"

#define LEASE_KEY_ID "lease_hmac"

static zg_err
lease_hash(zg_vault *v, const char *token, uint8_t out[32])
{
	return zg_keyring_hmac(v->kr, LEASE_KEY_ID, (const uint8_t *)token,
	    strlen(token), out);
}

zg_err
zg_vault_lease_create(zg_vault *v, const zg_cred_row *c, int64_t ttl_s,
    char token[ZG_LEASE_TOKEN_LEN + 1], int64_t *expires_at,
    uint32_t *version, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	uint8_t hash[32];
	int64_t now = zg_time_now_us();

	if (c->revoked_at != 0)
		return zg_fail(em, ZG_ERR_REVOKED,
		    "credential %s was revoked and its keys destroyed", c->id);
	if (c->expires_at != 0 && now >= c->expires_at)
		return zg_fail(em, ZG_ERR_EXPIRED, "credential %s has expired",
		    c->id);
	if ((err = zg_make_id(ZG_LEASE_TOKEN_PREFIX, 32, token,
	    ZG_LEASE_TOKEN_LEN + 1)) != ZG_OK)
		goto out;
	if ((err = lease_hash(v, token, hash)) != ZG_OK)
		goto out;
	int64_t exp = now + ttl_s * 1000000;
	/* A lease never outlives its credential. */
	if (c->expires_at != 0 && exp > c->expires_at)
		exp = c->expires_at;
	if ((err = v->st->ops->lease_insert(v->st, hash, c->id,
	    c->current_version, now, exp)) != ZG_OK)
		goto out;
	*expires_at = exp;
	*version = c->current_version;
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_wipe(token, ZG_LEASE_TOKEN_LEN + 1);
	return err;
}

zg_err
zg_vault_lease_redeem(zg_vault *v, const char *token, int64_t now,
    zg_cred_row *c, uint8_t **value, size_t *len, uint32_t *version,
    zg_errmsg *em)
{
	zg_err err;
	uint8_t hash[32];
	char cred_id[ZG_ID_MAX];
	uint32_t leased_version = 0;

	if ((err = lease_hash(v, token, hash)) != ZG_OK)
		return err;
	err = v->st->ops->lease_redeem(v->st, hash, now, cred_id,
	    &leased_version);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(em, err, "no such lease token");
	if (err == ZG_ERR_GONE)
		return zg_fail(em, err,
		    "the lease was already redeemed or has expired");
	if (err != ZG_OK)
		return err;
	if ((err = v->st->ops->cred_get(v->st, cred_id, c)) != ZG_OK)
		return err;
	return zg_vault_cred_value(v, c, leased_version, now, value, len,
	    version, em);
}
