/* Shared between the key manager, its two backends and the backup code. */
#ifndef ZG_KEYS_INTERNAL_H
#define ZG_KEYS_INTERNAL_H

#include <pthread.h>

#include <p11-kit-1/p11-kit/pkcs11.h>

#include "keys/keys.h"

typedef struct zg_p11 zg_p11;

/*
 * The store counter that every write of a key or version row adds 1 to,
 * in the same transaction, so that cached key state can be checked
 * against it (keys_sign.c).
 */
#define ZG_KEYS_COUNTER "signing_keys"

/* Slots of the signing cache; a key id maps to one slot by its hash. */
#define ZG_KEYS_CACHE_SLOTS 1024
/* Largest stored blob the cache keeps: a wrapped DEK and a sealed key are
 * 70 bytes each, a CKA_ID 16. A signature rejects a longer blob as a
 * malformed record. */
#define ZG_KEYS_CACHE_BLOB_MAX 256

/*
 * What a signature needs to know about a key and its newest version, as
 * read from the store. The blob is the sealed private key or the CKA_ID,
 * never a plaintext key.
 */
typedef struct zg_key_sign_state {
	char id[ZG_ID_MAX];          /* "" in an empty cache slot */
	enum zg_key_alg alg;
	enum zg_key_backend backend;
	bool disabled;
	int64_t expires_at;          /* 0: never */
	uint32_t version;            /* the newest version */
	enum zg_key_version_state state;
	uint8_t pub[ZG_KEY_PUB_MAX];
	size_t pub_len;
	uint8_t blob[ZG_KEYS_CACHE_BLOB_MAX];
	size_t blob_len;             /* 0: no blob (destroyed) */
	CK_OBJECT_HANDLE handle;     /* pkcs11: private key; 0 until found */
} zg_key_sign_state;

/* Cached sign states, valid while the store counter equals counter. */
typedef struct zg_keys_cache {
	pthread_mutex_t lock;
	int64_t counter;
	zg_key_sign_state *slots;    /* ZG_KEYS_CACHE_SLOTS entries */
} zg_keys_cache;

struct zg_keys {
	zg_store *st;
	zg_keyring *kr;
	zg_p11 *p11;                 /* NULL when the pkcs11 backend is off */
	/* Why the configured token could not be opened at start, or "" when
	 * none is configured. Every rejected use of a pkcs11 key quotes it. */
	char p11_error[320];         /* as long as zg_errmsg.text */
	zg_keys_cache cache;
};

/*
 * Returns the error for a pkcs11 operation without a usable token, saying
 * why: ZG_ERR_INVALID when creating is true and no token is configured,
 * ZG_ERR_BACKEND_UNAVAILABLE otherwise.
 */
zg_err zg_keys_no_token(const zg_keys *k, bool creating, zg_errmsg *em,
    const char *what);

/* Length of the private key of alg in the software backend (32 for all). */
#define ZG_SOFT_PRIV_LEN 32

/*
 * Software backend (soft.c). id, version and alg form the AAD of the
 * sealed blob (see keys.h).
 */

/* Draws a new private key for alg into priv (a locked buffer). */
zg_err zg_soft_generate(enum zg_key_alg alg, uint8_t priv[ZG_SOFT_PRIV_LEN]);

/* Computes the public key of priv; ZG_ERR_INVALID if priv is out of range. */
zg_err zg_soft_public(enum zg_key_alg alg, const uint8_t priv[ZG_SOFT_PRIV_LEN],
    uint8_t pub[ZG_KEY_PUB_MAX], size_t *pub_len);

/* Seals priv under a fresh DEK wrapped by the KEK; appends to blob. */
zg_err zg_soft_seal(zg_keyring *kr, const char *id, uint32_t version,
    enum zg_key_alg alg, const uint8_t priv[ZG_SOFT_PRIV_LEN], zg_buf *blob);

/* Opens a sealed blob into priv (a locked buffer the caller wipes). */
zg_err zg_soft_open(zg_keyring *kr, const char *id, uint32_t version,
    enum zg_key_alg alg, const uint8_t *blob, size_t len,
    uint8_t priv[ZG_SOFT_PRIV_LEN]) ZG_WARN_UNUSED;

/*
 * Opens the blob into the locked heap, signs msg (a 32-byte digest for
 * ECDSA, the message for Ed25519) into out->sig, and wipes the key.
 */
zg_err zg_soft_sign(zg_keyring *kr, const char *id, uint32_t version,
    enum zg_key_alg alg, const uint8_t *blob, size_t blob_len,
    const uint8_t *msg, size_t len, zg_key_signature *out);

/* PKCS#11 backend (pkcs11.c). Messages name the module and token label. */

zg_err zg_p11_open(const zg_pkcs11_config *cfg, zg_p11 **out, zg_errmsg *em);
void zg_p11_close(zg_p11 *p);

/*
 * Generates a key pair on the token: CKA_TOKEN, CKA_SENSITIVE true,
 * CKA_EXTRACTABLE false, a random CKA_ID written to id, label as
 * CKA_LABEL. Returns the public key in the form of zg_key_version.
 */
zg_err zg_p11_generate(zg_p11 *p, enum zg_key_alg alg, const char *label,
    uint8_t id[ZG_KEY_P11_ID_LEN], uint8_t pub[ZG_KEY_PUB_MAX],
    size_t *pub_len, zg_errmsg *em);

/*
 * Signs with the private key whose CKA_ID is id: CKM_ECDSA over a 32-byte
 * digest (raw r||s as the token returns it) or CKM_EDDSA over a message.
 * A nonzero *handle is used as the key's object handle, which saves the
 * search. If the token rejects that handle as invalid, the key is searched
 * by id once more. On success *handle is the handle that signed.
 */
zg_err zg_p11_sign(zg_p11 *p, enum zg_key_alg alg, const uint8_t *id,
    size_t id_len, CK_OBJECT_HANDLE *handle, const uint8_t *msg, size_t len,
    uint8_t sig[ZG_KEY_SIG_MAX], size_t *sig_len, zg_errmsg *em);

/* Destroys the private and public objects with CKA_ID id. */
zg_err zg_p11_destroy(zg_p11 *p, const uint8_t *id, size_t id_len,
    zg_errmsg *em);

/*
 * Borrows a logged-in session from the pool, blocking while all are in
 * use. Tests and the benchmark use it to call the module through *fl.
 */
CK_SESSION_HANDLE zg_p11_session_get(zg_p11 *p, CK_FUNCTION_LIST_PTR *fl);
void zg_p11_session_put(zg_p11 *p, CK_SESSION_HANDLE s);

/* Finds the object of class cls with CKA_ID id; ZG_ERR_NOT_FOUND if none. */
zg_err zg_p11_find(zg_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *obj);

/* Key records (keys.c, keys_json.c), shared with the backup code. */

/* Reads the key row and every version row of key id into *key. */
zg_err zg_keys_load(zg_keys *k, const char *id, zg_key *key, zg_errmsg *em);

/*
 * Reads version `version` of key id with its blob into *row and parses its
 * body into *v. ZG_ERR_NOT_FOUND with a message if there is no such
 * version, ZG_ERR_INTEGRITY (logged) for a malformed body.
 */
zg_err zg_keys_load_version(zg_keys *k, const char *id, uint32_t version,
    zg_obj_row *row, zg_key_version *v, zg_errmsg *em);

/* Fill em for a key that does not exist, or whose record is malformed
 * (logged too), and return ZG_ERR_NOT_FOUND or ZG_ERR_INTEGRITY. */
zg_err zg_keys_not_found(zg_errmsg *em, const char *id);
zg_err zg_keys_damaged(zg_errmsg *em, const char *id);

/* Fails with ZG_ERR_DISABLED or ZG_ERR_EXPIRED for a key that may not sign
 * or change at time now. */
zg_err zg_key_check_usable(const zg_key *key, int64_t now, zg_errmsg *em);

/*
 * Fills *op with an obj_apply step that adds 1 to ZG_KEYS_COUNTER, using
 * *row for the counter's name. Every batch that writes a key or version
 * row includes it.
 */
void zg_keys_counter_op(zg_obj_row *row, zg_obj_op *op);

/* Parse the stored body of a key row or of a version row; ZG_ERR_INTEGRITY
 * if it is malformed. *key gets no versions. */
zg_err zg_key_parse_body(const zg_obj_row *row, zg_key *key);
zg_err zg_key_parse_version_body(const zg_obj_row *row, zg_key_version *v);

/* Parses the bodies of a key and of its versions into *key. */
zg_err zg_key_from_rows(const zg_obj_row *krow, const zg_obj_row *vrows,
    size_t nv, zg_key *key);

/*
 * Encodes o compactly into a malloc'd string that free() releases, even
 * while jansson uses the wiping allocator, and drops the reference to o.
 */
char *zg_key_json_text(json_t *o);

/* Writes the body JSON of a key or of one version into a new string. */
char *zg_key_body(const zg_key *key);
char *zg_key_version_body(const zg_key_version *v);

/* Writes "<key id>/<version>" into out. */
void zg_key_version_id(const char *id, uint32_t version, char out[ZG_OBJ_ID_MAX]);

/* The signing cache (keys_sign.c). */

zg_err zg_keys_cache_init(zg_keys_cache *c);
void zg_keys_cache_destroy(zg_keys_cache *c);

#endif
