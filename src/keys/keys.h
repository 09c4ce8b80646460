/*
 * Signing keys kept in a software keystore or in a PKCS#11 token.
 *
 * A key has an id ("key_" and 24 hex digits), an owner, a label, an
 * algorithm and a backend, and one or more versions. Each version is a key
 * pair of its own, and signing always uses the newest one. Older versions
 * stay listed with their public keys for verification. Their private keys
 * are destroyed only by an explicit call per version.
 *
 * Backends:
 * - software: the private key is sealed under a fresh data key (DEK) that
 *   the vault KEK wraps, exactly as credential values are (keyring.h). The
 *   AAD is "zguard/signing-key", then the length-prefixed key id, the
 *   version as a 32-bit big-endian number and the length-prefixed
 *   algorithm name, so a blob copied to another key, version or algorithm
 *   fails to decrypt. For each signature the key is opened into the locked
 *   heap, used once and wiped.
 * - pkcs11: the key pair is generated on the token as a token object that
 *   is sensitive and not extractable, and the stored blob is only its
 *   CKA_ID. The token signs.
 *
 * Storage (store.h generic objects): kind "signing_key", id = key id, body
 * = the key's metadata; kind "signing_key_version", id "<key id>/<n>", body
 * = the version's public key and state, blob = the sealed private key or
 * the CKA_ID. Every change is one obj_apply or a compare-and-set obj_put,
 * so a key or version is never stored half-written.
 *
 * Every signature goes through zg_keys_sign_digest or zg_keys_sign_bytes.
 * All functions are safe to call from many threads on one zg_keys.
 */
#ifndef ZG_KEYS_KEYS_H
#define ZG_KEYS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/errmsg.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "vault/keyring.h"

#define ZG_KEY_KIND "signing_key"
#define ZG_KEY_VERSION_KIND "signing_key_version"
#define ZG_KEY_ID_PREFIX "key_"
#define ZG_KEY_ID_LEN (4 + 24)       /* prefix and 12 random bytes in hex */
#define ZG_KEY_LABEL_MAX 129         /* labels: 0 to 128 bytes, with the NUL */
#define ZG_KEY_PUB_MAX 65            /* uncompressed EC point */
#define ZG_KEY_SIG_MAX 64
#define ZG_KEY_P11_ID_LEN 16         /* random CKA_ID of a token key pair */

enum zg_key_alg {
	ZG_KEY_ALG_SECP256K1 = 1,    /* ECDSA, Ethereum */
	ZG_KEY_ALG_ED25519,          /* pure Ed25519 (RFC 8032) */
	ZG_KEY_ALG_P256,             /* ECDSA on NIST P-256 */
};

enum zg_key_backend {
	ZG_KEY_BACKEND_SOFTWARE = 1,
	ZG_KEY_BACKEND_PKCS11,
};

enum zg_key_version_state {
	ZG_KEY_VERSION_ACTIVE = 1,
	ZG_KEY_VERSION_DISABLED,
	ZG_KEY_VERSION_DESTROYED,    /* private key erased; public key kept */
};

typedef struct zg_key_version {
	uint32_t version;
	uint8_t pub[ZG_KEY_PUB_MAX]; /* secp256k1, P-256: 0x04||x||y; Ed25519: 32 bytes */
	size_t pub_len;
	enum zg_key_version_state state;
	int64_t created_at;          /* microseconds since the epoch */
} zg_key_version;

/* A key's metadata with all its versions, oldest first. */
typedef struct zg_key {
	char id[ZG_ID_MAX];
	char owner[ZG_USER_MAX];
	char label[ZG_KEY_LABEL_MAX];
	enum zg_key_alg alg;
	enum zg_key_backend backend;
	uint32_t current_version;    /* the newest version; signing uses it */
	bool disabled;
	int64_t expires_at;          /* 0: never */
	bool allow_raw_digest;
	int64_t created_at;
	int64_t updated_at;
	int64_t rev;                 /* store revision, for compare-and-set */
	zg_key_version *versions;    /* owned; free with zg_key_free */
	size_t nversions;
} zg_key;

/* A signature and the version that made it. */
typedef struct zg_key_signature {
	enum zg_key_alg alg;
	uint32_t version;
	uint8_t sig[ZG_KEY_SIG_MAX]; /* ECDSA: r||s, 32 bytes each; Ed25519: 64 bytes */
	size_t sig_len;
	int recid;                   /* secp256k1: 0..3 with low s; else -1 */
} zg_key_signature;

/*
 * PKCS#11 settings. The user PIN comes from pin_file (its first line) or,
 * if that is NULL, from the environment variable pin_env. It is wiped
 * right after C_Login and never logged.
 */
typedef struct zg_pkcs11_config {
	const char *module_path;     /* e.g. /usr/lib/softhsm/libsofthsm2.so */
	const char *token_label;     /* the token is chosen by label, never slot */
	const char *pin_file;
	const char *pin_env;
	unsigned sessions;           /* pool size; 0 means 4 */
} zg_pkcs11_config;

/* What a caller supplies to create or import a key. */
typedef struct zg_key_params {
	const char *owner;
	enum zg_key_alg alg;
	enum zg_key_backend backend; /* import: software only */
	const char *label;           /* NULL or 0 to 128 bytes */
	int64_t expires_at;          /* 0: never */
	bool allow_raw_digest;
} zg_key_params;

typedef struct zg_keys zg_keys;

/*
 * Opens the key manager over a store and an unsealed keyring, which the
 * caller keeps open until zg_keys_close. p11 NULL (or with a NULL
 * module_path) leaves the pkcs11 backend off; otherwise the module is
 * loaded, the token found by label and logged in, and any failure is
 * ZG_ERR_BACKEND_UNAVAILABLE with a message naming the module and label.
 */
zg_err zg_keys_open(zg_store *st, zg_keyring *kr, const zg_pkcs11_config *p11,
    zg_keys **out, zg_errmsg *em);

/*
 * Records why the configured token could not be opened, for a daemon that
 * runs on without it: every later use of a pkcs11 key then fails with
 * ZG_ERR_BACKEND_UNAVAILABLE and this reason.
 */
void zg_keys_set_token_error(zg_keys *k, const char *why);

/* Closes the PKCS#11 sessions and frees k. NULL is accepted. */
void zg_keys_close(zg_keys *k);

/* Parse and name algorithms and backends ("secp256k1", "ed25519", "p256";
 * "software", "pkcs11"). The parsers return ZG_ERR_INVALID with a message
 * listing the valid names. */
zg_err zg_key_alg_parse(const char *name, enum zg_key_alg *out, zg_errmsg *em);
const char *zg_key_alg_name(enum zg_key_alg alg);
zg_err zg_key_backend_parse(const char *name, enum zg_key_backend *out,
    zg_errmsg *em);
const char *zg_key_backend_name(enum zg_key_backend backend);

/* True if id has the form "key_" followed by 24 lower-case hex digits. */
bool zg_key_id_valid(const char *id);

/*
 * Creates a key with version 1, generated by its backend, and fills *out
 * (freed with zg_key_free). ZG_ERR_BACKEND_UNAVAILABLE for pkcs11 when no
 * token is configured; ZG_ERR_INVALID for Ed25519 on a token that lacks
 * CKM_EC_EDWARDS_KEY_PAIR_GEN.
 */
zg_err zg_keys_create(zg_keys *k, const zg_key_params *p, zg_key *out,
    zg_errmsg *em);

/*
 * Imports an existing private key into the software backend:
 * priv_hex is 64 hex digits, with or without "0x" (secp256k1 and P-256:
 * the scalar; Ed25519: the 32-byte seed). Every copy of the key is wiped
 * once it is sealed. The message of an invalid key never repeats it.
 */
zg_err zg_keys_import(zg_keys *k, const zg_key_params *p, const char *priv_hex,
    zg_key *out, zg_errmsg *em);

/* Reads key id with its versions. ZG_ERR_NOT_FOUND if there is none. */
zg_err zg_keys_get(zg_keys *k, const char *id, zg_key *out, zg_errmsg *em);

/*
 * Lists keys ordered by id, of one owner (NULL for all), with ids after
 * `after` (NULL or "" for the start), at most limit. *keys is freed with
 * zg_keys_free.
 */
zg_err zg_keys_list(zg_keys *k, const char *owner, const char *after,
    size_t limit, zg_key **keys, size_t *n, zg_errmsg *em);

/*
 * Adds a version with a new key pair from the same backend and makes it
 * the one that signs. Refused for a disabled or expired key.
 * ZG_ERR_CONFLICT if another writer changed the key meanwhile. Updates *key
 * when it is not NULL.
 */
zg_err zg_keys_rotate(zg_keys *k, const char *id, zg_key *key, zg_errmsg *em);

/* Switches signing off or on for the whole key. */
zg_err zg_keys_set_disabled(zg_keys *k, const char *id, bool disabled,
    zg_errmsg *em);

/* Disables or re-enables one version; a destroyed version stays destroyed. */
zg_err zg_keys_set_version_disabled(zg_keys *k, const char *id,
    uint32_t version, bool disabled, zg_errmsg *em);

/*
 * Destroys the private key of one version: software blobs are erased from
 * the store, token objects are deleted with C_DestroyObject. The public key
 * stays. Destroying twice is ZG_OK.
 */
zg_err zg_keys_destroy_version(zg_keys *k, const char *id, uint32_t version,
    zg_errmsg *em);

/*
 * Signs a 32-byte digest with the newest version of a secp256k1 or P-256
 * key. secp256k1 signatures have low s and a recovery id. Refused with
 * ZG_ERR_DISABLED for a disabled key or version, ZG_ERR_EXPIRED after
 * expires_at, ZG_ERR_REVOKED for a destroyed version, ZG_ERR_INVALID for
 * an Ed25519 key. The allow_raw_digest flag is not checked here: a caller
 * that signs a digest supplied by a client checks it first.
 */
zg_err zg_keys_sign_digest(zg_keys *k, const char *key_id,
    const uint8_t digest[32], zg_key_signature *out, zg_errmsg *em);

/* Signs a message with the newest version of an Ed25519 key; refusals as
 * in zg_keys_sign_digest, and ZG_ERR_INVALID for an ECDSA key. */
zg_err zg_keys_sign_bytes(zg_keys *k, const char *key_id, const uint8_t *msg,
    size_t len, zg_key_signature *out, zg_errmsg *em);

/* "active", "disabled" or "expired" (checked against now). */
const char *zg_key_status(const zg_key *key, int64_t now);

/*
 * Builds the API form of a key: {"id","algorithm","backend","version",
 * "publicKey","address","label","status","expiresAt","allowRawDigest",
 * "versions":[{"version","publicKey","address","state","createdAt"}],
 * "createdAt"}. Public keys are 0x-prefixed hex; address is the EIP-55
 * address for secp256k1 and null otherwise. NULL on allocation failure.
 */
json_t *zg_key_to_json(const zg_key *key, int64_t now);

void zg_key_free(zg_key *key);
void zg_keys_free(zg_key *keys, size_t n);

/*
 * Writes a backup bundle of the software keys of owner (NULL for all)
 * into out, encrypted under passphrase with Argon2id (params NULL: the
 * defaults of crypto.h) and AES-256-GCM. Private keys exist in plaintext
 * only in the locked heap while the bundle is built. PKCS#11 keys are
 * listed in the bundle as not exportable, without key material; the
 * counts go to *exported and *not_exportable (either may be NULL).
 */
zg_err zg_keys_backup(zg_keys *k, const char *owner, const uint8_t *pass,
    size_t pass_len, const zg_argon2_params *params, zg_buf *out,
    size_t *exported, size_t *not_exportable, zg_errmsg *em);

/*
 * Restores the software keys of a bundle into k's store, sealed under k's
 * keyring, all in one transaction. ZG_ERR_BAD_PASSPHRASE for a wrong
 * passphrase, ZG_ERR_INTEGRITY for a damaged bundle, ZG_ERR_CONFLICT if
 * any key id already exists (nothing is written then). Keys marked not
 * exportable are skipped and counted in *skipped (may be NULL). The same
 * as zg_keys_bundle_open followed by zg_keys_restore_bundle.
 */
zg_err zg_keys_restore(zg_keys *k, const uint8_t *bundle, size_t len,
    const uint8_t *pass, size_t pass_len, size_t *restored, size_t *skipped,
    zg_errmsg *em);

/* A backup bundle decrypted into the locked heap. */
typedef struct zg_keys_bundle zg_keys_bundle;

/*
 * Checks a bundle's header and decrypts it under the passphrase, without
 * any store or keyring, so a caller can reject a wrong passphrase before
 * it creates or opens a data directory. ZG_ERR_INVALID for a file that is
 * not a bundle or whose Argon2id costs exceed the limits,
 * ZG_ERR_BAD_PASSPHRASE for a wrong passphrase or an altered bundle. The
 * contents are parsed only by zg_keys_restore_bundle. On success the
 * caller owns *out and frees it with zg_keys_bundle_free.
 */
zg_err zg_keys_bundle_open(const uint8_t *bundle, size_t len,
    const uint8_t *pass, size_t pass_len, zg_keys_bundle **out,
    zg_errmsg *em) __attribute__((warn_unused_result));

/* Wipes and frees b. NULL is accepted. */
void zg_keys_bundle_free(zg_keys_bundle *b);

/*
 * Restores the keys of an opened bundle as zg_keys_restore does:
 * ZG_ERR_INTEGRITY for malformed contents, ZG_ERR_CONFLICT if any key id
 * already exists, and nothing is written on any error. b stays the
 * caller's.
 */
zg_err zg_keys_restore_bundle(zg_keys *k, const zg_keys_bundle *b,
    size_t *restored, size_t *skipped, zg_errmsg *em);

#endif
