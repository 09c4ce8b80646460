/*
 * The software backend: private keys sealed under the vault's key
 * hierarchy, opened into the locked heap for one signature at a time.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "crypto/secp256k1.h"
#include "keys/keys_internal.h"

/* The locked buffer of one signature: the DEK, then the private key. */
struct soft_secret {
	uint8_t dek[ZG_KEY_LEN];
	uint8_t priv[ZG_SOFT_PRIV_LEN];
};

static zg_err
record_aad(const char *id, uint32_t version, enum zg_key_alg alg, zg_buf *aad)
{
	const char *name = zg_key_alg_name(alg);
	zg_err err;

	if ((err = zg_buf_append_str(aad, "zguard/signing-key")) != ZG_OK ||
	    (err = zg_buf_append_lp(aad, id, strlen(id))) != ZG_OK ||
	    (err = zg_buf_append_u32be(aad, version)) != ZG_OK)
		return err;
	return zg_buf_append_lp(aad, name, strlen(name));
}

/* Computes d*G on P-256 as an uncompressed point; ZG_ERR_INVALID unless
 * 1 <= d < n. */
static zg_err
p256_public(const uint8_t priv[ZG_SOFT_PRIV_LEN], uint8_t pub[ZG_KEY_PUB_MAX])
{
	zg_err err = ZG_ERR_CRYPTO;
	EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *point = NULL;
	BIGNUM *d = BN_secure_new();
	BN_CTX *bnctx = BN_CTX_secure_new();

	if (group == NULL || d == NULL || bnctx == NULL ||
	    (point = EC_POINT_new(group)) == NULL)
		goto out;
	if (BN_bin2bn(priv, ZG_SOFT_PRIV_LEN, d) == NULL)
		goto out;
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(group)) >= 0) {
		err = ZG_ERR_INVALID;
		goto out;
	}
	if (EC_POINT_mul(group, point, d, NULL, NULL, bnctx) != 1)
		goto out;
	if (EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED,
	    pub, ZG_KEY_PUB_MAX, bnctx) != ZG_KEY_PUB_MAX)
		goto out;
	/* success */
	err = ZG_OK;
out:
	BN_CTX_free(bnctx);
	BN_clear_free(d);
	EC_POINT_free(point);
	EC_GROUP_free(group);
	return err;
}

zg_err
zg_soft_public(enum zg_key_alg alg, const uint8_t priv[ZG_SOFT_PRIV_LEN],
    uint8_t pub[ZG_KEY_PUB_MAX], size_t *pub_len)
{
	switch (alg) {
	case ZG_KEY_ALG_SECP256K1:
		if (!zg_secp_priv_valid(priv))
			return ZG_ERR_INVALID;
		*pub_len = ZG_SECP_PUB_LEN;
		return zg_secp_public(priv, pub);
	case ZG_KEY_ALG_ED25519:
		*pub_len = ZG_ED25519_PUB_LEN;
		return zg_ed25519_public(priv, pub);
	case ZG_KEY_ALG_P256:
		*pub_len = ZG_KEY_PUB_MAX;
		return p256_public(priv, pub);
	}
	return ZG_ERR_INVALID;
}

zg_err
zg_soft_generate(enum zg_key_alg alg, uint8_t priv[ZG_SOFT_PRIV_LEN])
{
	uint8_t pub[ZG_KEY_PUB_MAX];
	zg_err err;

	if (alg == ZG_KEY_ALG_SECP256K1)
		return zg_secp_keygen(priv);
	if (alg == ZG_KEY_ALG_ED25519)
		return zg_random(priv, ZG_SOFT_PRIV_LEN);
	/* P-256: a random 32-byte string is at or above the order with
	 * probability about 2^-32, so the loop almost never repeats. */
	for (int i = 0; i < 8; i++) {
		if ((err = zg_random(priv, ZG_SOFT_PRIV_LEN)) != ZG_OK)
			return err;
		err = p256_public(priv, pub);
		if (err != ZG_ERR_INVALID)
			return err;
	}
	zg_wipe(priv, ZG_SOFT_PRIV_LEN);
	return ZG_ERR_CRYPTO;
}

zg_err
zg_soft_seal(zg_keyring *kr, const char *id, uint32_t version,
    enum zg_key_alg alg, const uint8_t priv[ZG_SOFT_PRIV_LEN], zg_buf *blob)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf aad = ZG_BUF_INIT;
	uint8_t dek[ZG_KEY_LEN];
	zg_ct_header h = {ZG_CT_FORMAT_V1, ZG_CT_ALG_AES256GCM, 0, 0};

	if ((err = zg_random(dek, sizeof(dek))) != ZG_OK)
		goto out;
	if ((err = record_aad(id, version, alg, &aad)) != ZG_OK)
		goto out;
	if ((err = zg_keyring_wrap_dek(kr, dek, aad.data, aad.len, blob)) != ZG_OK)
		goto out;
	if ((err = zg_seal_blob(dek, &h, aad.data, aad.len, priv,
	    ZG_SOFT_PRIV_LEN, blob)) != ZG_OK)
		goto out;
	/* success */
	err = ZG_OK;
out:
	zg_wipe(dek, sizeof(dek));
	zg_buf_free(&aad);
	return err;
}

/* Opens blob into s->priv, using s->dek on the way. */
static zg_err
open_into(zg_keyring *kr, const char *id, uint32_t version,
    enum zg_key_alg alg, const uint8_t *blob, size_t len,
    struct soft_secret *s)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf aad = ZG_BUF_INIT;
	size_t used = 0, n = 0;

	if ((err = record_aad(id, version, alg, &aad)) != ZG_OK)
		goto out;
	if ((err = zg_keyring_unwrap_dek(kr, blob, len, aad.data, aad.len,
	    s->dek, &used)) != ZG_OK)
		goto out;
	/* The sealed key must be exactly one private key long, so a longer
	 * plaintext can never overrun s->priv. */
	if (len - used != ZG_CT_OVERHEAD + ZG_SOFT_PRIV_LEN) {
		err = ZG_ERR_INTEGRITY;
		goto out;
	}
	if ((err = zg_open_blob(s->dek, blob + used, len - used, aad.data,
	    aad.len, s->priv, &n)) != ZG_OK)
		goto out;
	/* success */
	err = ZG_OK;
out:
	zg_wipe(s->dek, sizeof(s->dek));
	zg_buf_free(&aad);
	return err;
}

zg_err
zg_soft_open(zg_keyring *kr, const char *id, uint32_t version,
    enum zg_key_alg alg, const uint8_t *blob, size_t len,
    uint8_t priv[ZG_SOFT_PRIV_LEN])
{
	struct soft_secret *s = zg_secure_alloc(sizeof(*s));
	if (s == NULL)
		return ZG_ERR_NOMEM;
	zg_err err = open_into(kr, id, version, alg, blob, len, s);
	if (err == ZG_OK)
		memcpy(priv, s->priv, ZG_SOFT_PRIV_LEN);
	zg_secure_free(s, sizeof(*s));
	return err;
}

/* ECDSA over P-256 of a 32-byte digest, written as r||s. */
static zg_err
p256_sign(const uint8_t priv[ZG_SOFT_PRIV_LEN], const uint8_t digest[32],
    uint8_t sig[64])
{
	zg_err err = ZG_ERR_CRYPTO;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	BIGNUM *d = BN_secure_new();
	EVP_PKEY_CTX *ctx = NULL, *sctx = NULL;
	EVP_PKEY *pkey = NULL;
	ECDSA_SIG *esig = NULL;
	uint8_t der[80];
	size_t der_len = sizeof(der);
	const unsigned char *p = der;
	const BIGNUM *r, *s;

	if (bld == NULL || d == NULL ||
	    BN_bin2bn(priv, ZG_SOFT_PRIV_LEN, d) == NULL)
		goto out;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
		goto out;
	if ((sctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_sign_init(sctx) != 1 ||
	    EVP_PKEY_sign(sctx, der, &der_len, digest, 32) != 1)
		goto out;
	if ((esig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL)
		goto out;
	ECDSA_SIG_get0(esig, &r, &s);
	if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32)
		goto out;
	/* success */
	err = ZG_OK;
out:
	ECDSA_SIG_free(esig);
	EVP_PKEY_CTX_free(sctx);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	/* The params hold a copy of the private scalar; OSSL_PARAM_free
	 * clears the part that OSSL_PARAM_BLD put in the secure heap. */
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return err;
}

zg_err
zg_soft_sign(zg_keyring *kr, const char *id, uint32_t version,
    enum zg_key_alg alg, const uint8_t *blob, size_t blob_len,
    const uint8_t *msg, size_t len, zg_key_signature *out)
{
	zg_err err = ZG_ERR_INTERNAL;
	struct soft_secret *s = zg_secure_alloc(sizeof(*s));

	if (s == NULL)
		return ZG_ERR_NOMEM;
	if ((err = open_into(kr, id, version, alg, blob, blob_len, s)) != ZG_OK)
		goto out;
	out->recid = -1;
	switch (alg) {
	case ZG_KEY_ALG_SECP256K1:
		if (len != 32) {
			err = ZG_ERR_INVALID;
			goto out;
		}
		err = zg_secp_sign(s->priv, msg, out->sig, &out->recid);
		out->sig_len = ZG_SECP_SIG_LEN;
		break;
	case ZG_KEY_ALG_P256:
		if (len != 32) {
			err = ZG_ERR_INVALID;
			goto out;
		}
		err = p256_sign(s->priv, msg, out->sig);
		out->sig_len = 64;
		break;
	case ZG_KEY_ALG_ED25519:
		err = zg_ed25519_sign(s->priv, msg, len, out->sig);
		out->sig_len = ZG_ED25519_SIG_LEN;
		break;
	default:
		err = ZG_ERR_INVALID;
	}
out:
	zg_secure_free(s, sizeof(*s));
	return err;
}
