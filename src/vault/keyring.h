/*
 * The key hierarchy.
 *
 *   seal key ──wraps──▶ root key ──wraps──▶ KEK versions, system keys
 *                                   KEK ──wraps──▶ per-record DEKs
 *
 * The seal key comes from a key file in the data directory (the default,
 * fit for development and single hosts whose disk is trusted) or from a
 * passphrase through Argon2id. The root key and everything it wraps are
 * kept unwrapped only in locked memory (zg_secure_alloc) while unsealed.
 *
 * Every wrapped blob starts with the 10-byte header of zg_ct_header, so a
 * later change of algorithm or key can be read from the data itself and
 * never needs a migration:
 *
 *   byte 0     format version (1)
 *   byte 1     algorithm (1 = AES-256-GCM, 12-byte nonce, 16-byte tag)
 *   bytes 2-5  key id, big-endian (for DEKs: the KEK id, 1)
 *   bytes 6-9  key version, big-endian (KEK version, or root version)
 *   then       nonce (12) | ciphertext | tag (16)
 *
 * The header is part of the AAD of its own ciphertext, so changing it
 * breaks the tag.
 *
 * Locking: a rwlock guards the in-memory keys. Wrapping and unwrapping take
 * it shared; unseal and the swap at the end of a root rotation take it
 * exclusive for a few microseconds. Rotations and key creation serialize on
 * a separate mutex, so they never block readers while they work.
 */
#ifndef ZG_VAULT_KEYRING_H
#define ZG_VAULT_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/config.h"
#include "crypto/crypto.h"
#include "store/store.h"

#define ZG_CT_FORMAT_V1 1
#define ZG_CT_ALG_AES256GCM 1
#define ZG_CT_HEADER_LEN 10
#define ZG_CT_OVERHEAD (ZG_CT_HEADER_LEN + ZG_GCM_NONCE_LEN + ZG_GCM_TAG_LEN)
#define ZG_KEK_ID 1

typedef struct zg_ct_header {
	uint8_t format;
	uint8_t alg;
	uint32_t key_id;
	uint32_t key_version;
} zg_ct_header;

typedef struct zg_keyring zg_keyring;

/*
 * Opens the keyring of the data directory. With the key-file seal it
 * unseals at once, creating the key file and the root key on first start.
 * With the passphrase seal the vault must have been initialized by
 * zg_keyring_init_passphrase and the keyring starts sealed.
 */
zg_err zg_keyring_open(zg_store *st, const char *data_dir,
    enum zg_seal_kind seal, zg_keyring **out, zg_errmsg *em);

/*
 * Initializes a new vault sealed by a passphrase: a new root key and first
 * KEK, wrapped under Argon2id(passphrase). Fails with ZG_ERR_CONFLICT if the
 * store already has a root key.
 */
zg_err zg_keyring_init_passphrase(zg_store *st, const uint8_t *pass,
    size_t pass_len, const zg_argon2_params *params, zg_errmsg *em);

/* Unseals with a passphrase; ZG_ERR_BAD_PASSPHRASE if it is wrong. */
zg_err zg_keyring_unseal(zg_keyring *kr, const uint8_t *pass, size_t pass_len,
    zg_errmsg *em);

bool zg_keyring_sealed(zg_keyring *kr);
enum zg_seal_kind zg_keyring_seal_kind(zg_keyring *kr);

/* Wipes every key and frees the keyring. */
void zg_keyring_close(zg_keyring *kr);

/*
 * Makes a new root key, rewraps every KEK and system key under it in one
 * store transaction, and switches to it. Records are not touched.
 */
zg_err zg_keyring_rotate_root(zg_keyring *kr, uint32_t *root_version,
    size_t *rewrapped);

/* Adds a KEK version; new DEKs are wrapped under it from now on. */
zg_err zg_keyring_rotate_kek(zg_keyring *kr, uint32_t *kek_version);

/*
 * Encrypts pt under key with a fresh nonce and appends header, nonce,
 * ciphertext and tag to out. The header and then aad form the GCM AAD.
 */
zg_err zg_seal_blob(const uint8_t key[ZG_KEY_LEN], const zg_ct_header *h,
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
    zg_buf *out);

/* Parses the header of blob; ZG_ERR_INTEGRITY if it is unknown or short. */
zg_err zg_parse_ct_header(const uint8_t *blob, size_t len, zg_ct_header *h);

/*
 * Decrypts blob (as made by zg_seal_blob) into pt, which needs
 * len - ZG_CT_OVERHEAD bytes. ZG_ERR_INTEGRITY on any mismatch.
 */
zg_err zg_open_blob(const uint8_t key[ZG_KEY_LEN], const uint8_t *blob,
    size_t len, const uint8_t *aad, size_t aad_len, uint8_t *pt,
    size_t *pt_len) ZG_WARN_UNUSED;

/* Wraps a 32-byte DEK under the current KEK; appends the blob to out. */
zg_err zg_keyring_wrap_dek(zg_keyring *kr, const uint8_t dek[ZG_KEY_LEN],
    const uint8_t *aad, size_t aad_len, zg_buf *out);

/*
 * Unwraps a DEK blob made by zg_keyring_wrap_dek under whichever KEK
 * version its header names. *used is set to the blob's length.
 */
zg_err zg_keyring_unwrap_dek(zg_keyring *kr, const uint8_t *blob, size_t len,
    const uint8_t *aad, size_t aad_len, uint8_t dek[ZG_KEY_LEN],
    size_t *used) ZG_WARN_UNUSED;

/*
 * Computes HMAC-SHA-256 under the system key id (created on first use),
 * for keyed hashes of tokens and index entries.
 */
zg_err zg_keyring_hmac(zg_keyring *kr, const char *key_id, const uint8_t *data,
    size_t len, uint8_t out[ZG_SHA256_LEN]);

/*
 * Copies the 32-byte system key id into out (a caller's locked buffer),
 * creating it if create is true. ZG_ERR_NOT_FOUND if it does not exist
 * and create is false; ZG_ERR_SEALED while sealed.
 */
zg_err zg_keyring_system_key(zg_keyring *kr, const char *key_id, bool create,
    uint8_t out[ZG_KEY_LEN]);

/* Destroys every version of system key id, in memory and in the store. */
zg_err zg_keyring_destroy_key(zg_keyring *kr, const char *key_id);

#endif
