/*
 * Thin, misuse-resistant wrappers over OpenSSL 3 libcrypto and libargon2.
 * Nothing here implements a primitive itself.
 *
 * Conventions: outputs come after inputs; lengths are size_t; a function
 * that checks authenticity is warn_unused_result and wipes its output when
 * the check fails, so no unauthenticated plaintext is ever released.
 */
#ifndef ZG_CRYPTO_CRYPTO_H
#define ZG_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define ZG_KEY_LEN 32      /* AES-256, HMAC-SHA-256 and HKDF output keys */
#define ZG_GCM_NONCE_LEN 12
#define ZG_GCM_TAG_LEN 16
#define ZG_SHA256_LEN 32
#define ZG_ED25519_PUB_LEN 32
#define ZG_ED25519_PRIV_LEN 32
#define ZG_ED25519_SIG_LEN 64

#define ZG_WARN_UNUSED __attribute__((warn_unused_result))

/*
 * Sets up the locked heap (OPENSSL_secure_malloc) of arena_bytes, a power
 * of two. Returns ZG_ERR_CRYPTO if the memory cannot be locked, for example
 * when RLIMIT_MEMLOCK is too low; allocations then still work but may be
 * swapped, and the caller decides whether to go on.
 */
zg_err zg_crypto_init(size_t arena_bytes);

/* Releases the locked heap; call once at exit after every key is freed. */
void zg_crypto_shutdown(void);

/* Allocates n bytes from the locked heap; NULL on failure. */
void *zg_secure_alloc(size_t n);

/* Wipes and frees a block from zg_secure_alloc. NULL is accepted. */
void zg_secure_free(void *p, size_t n);

/* True if p lies in the locked heap. */
bool zg_secure_allocated(const void *p);

/* Fills out with n bytes from the OpenSSL CSPRNG. */
zg_err zg_random(uint8_t *out, size_t n) ZG_WARN_UNUSED;

/* Compares n bytes in constant time. Returns true if equal. */
bool zg_ct_equal(const void *a, const void *b, size_t n);

/* SHA-256 of data. */
zg_err zg_sha256(const uint8_t *data, size_t len, uint8_t out[ZG_SHA256_LEN]);

/* SHA-256 of the concatenation of the nparts buffers parts[i] of lens[i]. */
zg_err zg_sha256_parts(const uint8_t *const *parts, const size_t *lens,
    size_t nparts, uint8_t out[ZG_SHA256_LEN]);

/* HMAC-SHA-256 of data under key. */
zg_err zg_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data,
    size_t len, uint8_t out[ZG_SHA256_LEN]);

/*
 * HKDF-SHA-256 (RFC 5869), extract then expand, into out_len bytes.
 * Returns ZG_ERR_INVALID unless 1 <= out_len <= 8160 (255 * 32).
 */
zg_err zg_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
    size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
    size_t out_len);

/*
 * AES-256-GCM encryption with a 12-byte nonce and a 16-byte tag.
 * ct receives pt_len bytes; pt and ct may be the same buffer.
 */
zg_err zg_aes_gcm_encrypt(const uint8_t key[ZG_KEY_LEN],
    const uint8_t nonce[ZG_GCM_NONCE_LEN], const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *ct,
    uint8_t tag[ZG_GCM_TAG_LEN]);

/*
 * AES-256-GCM decryption. Returns ZG_ERR_INTEGRITY, with pt wiped, when the
 * tag does not match; ZG_ERR_CRYPTO on a library failure.
 */
zg_err zg_aes_gcm_decrypt(const uint8_t key[ZG_KEY_LEN],
    const uint8_t nonce[ZG_GCM_NONCE_LEN], const uint8_t *aad, size_t aad_len,
    const uint8_t *ct, size_t ct_len, const uint8_t tag[ZG_GCM_TAG_LEN],
    uint8_t *pt) ZG_WARN_UNUSED;

/* Derives the Ed25519 public key of a 32-byte private seed. */
zg_err zg_ed25519_public(const uint8_t priv[ZG_ED25519_PRIV_LEN],
    uint8_t pub[ZG_ED25519_PUB_LEN]);

/* Signs msg with an Ed25519 private seed (RFC 8032, pure Ed25519). */
zg_err zg_ed25519_sign(const uint8_t priv[ZG_ED25519_PRIV_LEN],
    const uint8_t *msg, size_t len, uint8_t sig[ZG_ED25519_SIG_LEN]);

/*
 * Returns ZG_OK for a valid signature, ZG_ERR_INTEGRITY for an invalid one
 * and ZG_ERR_CRYPTO on a library failure such as an allocation.
 */
zg_err zg_ed25519_verify(const uint8_t pub[ZG_ED25519_PUB_LEN],
    const uint8_t *msg, size_t len,
    const uint8_t sig[ZG_ED25519_SIG_LEN]) ZG_WARN_UNUSED;

/* Argon2id cost parameters, stored next to whatever they protect. */
typedef struct zg_argon2_params {
	uint32_t t_cost;      /* passes */
	uint32_t m_cost_kib;  /* memory in KiB */
	uint32_t parallelism; /* lanes */
} zg_argon2_params;

/* Defaults for unsealing: 3 passes over 64 MiB with 1 lane (RFC 9106 §4). */
#define ZG_ARGON2_DEFAULT_PARAMS ((zg_argon2_params){3, 65536, 1})

/*
 * Argon2id (version 0x13) of pass with salt into out_len bytes. secret and
 * ad are the optional key and associated data of RFC 9106 (NULL, 0 when
 * unused).
 */
zg_err zg_argon2id(const zg_argon2_params *params, const uint8_t *pass,
    size_t pass_len, const uint8_t *salt, size_t salt_len,
    const uint8_t *secret, size_t secret_len, const uint8_t *ad,
    size_t ad_len, uint8_t *out, size_t out_len);

#endif
