/*
 * Pure Ed25519 (RFC 8032) with raw 32-byte keys through OpenSSL 3 EVP_PKEY.
 * EVP_PKEY_free wipes the private key that OpenSSL copied.
 */
#include "crypto/crypto.h"

#include <openssl/evp.h>

#include "base/buf.h"

/* Replaces a NULL message of length 0. */
static const uint8_t empty_message[1];

zg_err
zg_ed25519_public(const uint8_t priv[ZG_ED25519_PRIV_LEN],
    uint8_t pub[ZG_ED25519_PUB_LEN])
{
	zg_err err = ZG_ERR_CRYPTO;
	EVP_PKEY *pkey = NULL;
	size_t pub_len = ZG_ED25519_PUB_LEN;

	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv,
	    ZG_ED25519_PRIV_LEN);
	if (pkey == NULL)
		goto out;
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) != 1 ||
	    pub_len != ZG_ED25519_PUB_LEN)
		goto out;

	/* success */
	err = ZG_OK;
out:
	EVP_PKEY_free(pkey);
	return err;
}

zg_err
zg_ed25519_sign(const uint8_t priv[ZG_ED25519_PRIV_LEN],
    const uint8_t *msg, size_t len, uint8_t sig[ZG_ED25519_SIG_LEN])
{
	zg_err err = ZG_ERR_CRYPTO;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t sig_len = ZG_ED25519_SIG_LEN;

	if (len == 0)
		msg = empty_message;
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv,
	    ZG_ED25519_PRIV_LEN);
	if (pkey == NULL)
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	/* Ed25519 hashes internally, so the digest argument must be NULL. */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1)
		goto out;
	if (EVP_DigestSign(ctx, sig, &sig_len, msg, len) != 1 ||
	    sig_len != ZG_ED25519_SIG_LEN)
		goto out;

	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_wipe(sig, ZG_ED25519_SIG_LEN);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return err;
}

zg_err
zg_ed25519_verify(const uint8_t pub[ZG_ED25519_PUB_LEN],
    const uint8_t *msg, size_t len, const uint8_t sig[ZG_ED25519_SIG_LEN])
{
	zg_err err = ZG_ERR_CRYPTO;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;

	if (len == 0)
		msg = empty_message;
	/* OpenSSL accepts any 32 bytes. A point off the curve fails below. */
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    ZG_ED25519_PUB_LEN);
	if (pkey == NULL)
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
		goto out;
	/*
	 * EVP_DigestVerify returns 1 for a valid signature, 0 for an invalid
	 * one and a negative value for a malformed signature or key, which is
	 * just as much a rejection.
	 */
	if (EVP_DigestVerify(ctx, sig, ZG_ED25519_SIG_LEN, msg, len) != 1) {
		err = ZG_ERR_INTEGRITY;
		goto out;
	}

	/* success */
	err = ZG_OK;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return err;
}
