/*
 * SHA-256, HMAC-SHA-256, HKDF-SHA-256 and AES-256-GCM through the OpenSSL 3
 * EVP interfaces. OpenSSL wipes the key schedules and MAC states it holds
 * when each context is freed.
 */
#include "crypto/crypto.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "base/buf.h"

/* HKDF-Expand produces at most 255 blocks of the hash output. */
#define HKDF_SHA256_MAX_OUT (255 * ZG_SHA256_LEN)

/* Replaces a NULL key of length 0, which EVP_MAC_init and HKDF reject. */
static const uint8_t empty_input[1];

/*
 * Algorithms fetched once. In OpenSSL 3 an implicit fetch (EVP_sha256(),
 * EVP_MAC_fetch per call) costs a provider lookup on every request, more
 * than the hashing itself for short inputs. A NULL entry means the fetch
 * failed, and the functions then fail with ZG_ERR_CRYPTO.
 */
static EVP_MD *alg_sha256;
static EVP_MAC *alg_hmac;
static EVP_CIPHER *alg_aes_gcm;
static pthread_once_t alg_once = PTHREAD_ONCE_INIT;

static void
fetch_algorithms(void)
{
	alg_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	alg_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	alg_aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_MD *
sha256_alg(void)
{
	pthread_once(&alg_once, fetch_algorithms);
	return alg_sha256;
}

static EVP_MAC *
hmac_alg(void)
{
	pthread_once(&alg_once, fetch_algorithms);
	return alg_hmac;
}

static const EVP_CIPHER *
aes_gcm_alg(void)
{
	pthread_once(&alg_once, fetch_algorithms);
	return alg_aes_gcm;
}

zg_err
zg_sha256_parts(const uint8_t *const *parts, const size_t *lens,
    size_t nparts, uint8_t out[ZG_SHA256_LEN])
{
	zg_err err = ZG_ERR_CRYPTO;
	EVP_MD_CTX *ctx = NULL;
	unsigned int out_len = 0;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (sha256_alg() == NULL ||
	    EVP_DigestInit_ex2(ctx, sha256_alg(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < nparts; i++) {
		if (lens[i] == 0)
			continue;
		if (EVP_DigestUpdate(ctx, parts[i], lens[i]) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, out, &out_len) != 1 ||
	    out_len != ZG_SHA256_LEN)
		goto out;

	/* success */
	err = ZG_OK;
out:
	EVP_MD_CTX_free(ctx);
	return err;
}

zg_err
zg_sha256(const uint8_t *data, size_t len, uint8_t out[ZG_SHA256_LEN])
{
	return zg_sha256_parts(&data, &len, 1, out);
}

zg_err
zg_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data,
    size_t len, uint8_t out[ZG_SHA256_LEN])
{
	zg_err err = ZG_ERR_CRYPTO;
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	size_t out_len = 0;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest,
		    0),
		OSSL_PARAM_construct_end(),
	};

	/* EVP_MAC_init takes a NULL key to mean "reuse the last key". */
	if (key_len == 0)
		key = empty_input;
	if ((mac = hmac_alg()) == NULL)
		goto out;
	if ((ctx = EVP_MAC_CTX_new(mac)) == NULL)
		goto out;
	if (EVP_MAC_init(ctx, key, key_len, params) != 1)
		goto out;
	if (len > 0 && EVP_MAC_update(ctx, data, len) != 1)
		goto out;
	if (EVP_MAC_final(ctx, out, &out_len, ZG_SHA256_LEN) != 1 ||
	    out_len != ZG_SHA256_LEN)
		goto out;

	/* success */
	err = ZG_OK;
out:
	EVP_MAC_CTX_free(ctx);
	return err;
}

zg_err
zg_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
    size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
    size_t out_len)
{
	zg_err err = ZG_ERR_CRYPTO;
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[5];
	size_t n = 0;

	if (out_len == 0 || out_len > HKDF_SHA256_MAX_OUT)
		return ZG_ERR_INVALID;

	/*
	 * RFC 5869 treats a missing salt as HashLen zero bytes. OpenSSL gives
	 * the same result when the salt parameter is left out, which the unit
	 * tests check.
	 */
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    digest, 0);
	params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(ikm_len > 0 ? ikm : empty_input), ikm_len);
	if (salt_len > 0)
		params[n++] = OSSL_PARAM_construct_octet_string(
		    OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	if (info_len > 0)
		params[n++] = OSSL_PARAM_construct_octet_string(
		    OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	params[n] = OSSL_PARAM_construct_end();

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		goto out;
	if ((ctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	if (EVP_KDF_derive(ctx, out, out_len, params) != 1)
		goto out;

	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_wipe(out, out_len);
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return err;
}

/*
 * Feeds len bytes to EVP_CipherUpdate in pieces that fit its int length.
 * With out NULL the bytes are GCM additional authenticated data.
 */
static zg_err
gcm_update(EVP_CIPHER_CTX *ctx, const uint8_t *in, size_t len, uint8_t *out)
{
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;
		int written = 0;
		if (EVP_CipherUpdate(ctx, out, &written, in, chunk) != 1)
			return ZG_ERR_CRYPTO;
		if (out != NULL) {
			if (written != chunk)
				return ZG_ERR_CRYPTO;
			out += chunk;
		}
		in += chunk;
		len -= (size_t)chunk;
	}
	return ZG_OK;
}

zg_err
zg_aes_gcm_encrypt(const uint8_t key[ZG_KEY_LEN],
    const uint8_t nonce[ZG_GCM_NONCE_LEN], const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *ct,
    uint8_t tag[ZG_GCM_TAG_LEN])
{
	zg_err err = ZG_ERR_CRYPTO;
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t final_block[16];
	int final_len = 0;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	/* OpenSSL's default GCM IV length is 12 bytes, ZG_GCM_NONCE_LEN. */
	if (aes_gcm_alg() == NULL ||
	    EVP_EncryptInit_ex(ctx, aes_gcm_alg(), NULL, key, nonce) != 1)
		goto out;
	if ((err = gcm_update(ctx, aad, aad_len, NULL)) != ZG_OK)
		goto out;
	if ((err = gcm_update(ctx, pt, pt_len, ct)) != ZG_OK)
		goto out;
	err = ZG_ERR_CRYPTO;
	/* GCM is a stream mode, so the final call only computes the tag. */
	if (EVP_EncryptFinal_ex(ctx, final_block, &final_len) != 1 ||
	    final_len != 0)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, ZG_GCM_TAG_LEN,
	    tag) != 1)
		goto out;

	/* success */
	err = ZG_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

zg_err
zg_aes_gcm_decrypt(const uint8_t key[ZG_KEY_LEN],
    const uint8_t nonce[ZG_GCM_NONCE_LEN], const uint8_t *aad, size_t aad_len,
    const uint8_t *ct, size_t ct_len, const uint8_t tag[ZG_GCM_TAG_LEN],
    uint8_t *pt)
{
	zg_err err = ZG_ERR_CRYPTO;
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t expected_tag[ZG_GCM_TAG_LEN];
	uint8_t final_block[16];
	int final_len = 0;

	/* EVP_CTRL_GCM_SET_TAG takes a non-const pointer, so pass a copy. */
	memcpy(expected_tag, tag, ZG_GCM_TAG_LEN);

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (aes_gcm_alg() == NULL ||
	    EVP_DecryptInit_ex(ctx, aes_gcm_alg(), NULL, key, nonce) != 1)
		goto out;
	if ((err = gcm_update(ctx, aad, aad_len, NULL)) != ZG_OK)
		goto out;
	if ((err = gcm_update(ctx, ct, ct_len, pt)) != ZG_OK)
		goto out;
	err = ZG_ERR_CRYPTO;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, ZG_GCM_TAG_LEN,
	    expected_tag) != 1)
		goto out;
	/* The final call compares the tags in constant time. */
	if (EVP_DecryptFinal_ex(ctx, final_block, &final_len) != 1) {
		err = ZG_ERR_INTEGRITY;
		goto out;
	}

	/* success */
	err = ZG_OK;
out:
	/* Release no plaintext that has not been authenticated. */
	if (err != ZG_OK)
		zg_wipe(pt, ct_len);
	EVP_CIPHER_CTX_free(ctx);
	return err;
}
