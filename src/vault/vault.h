/*
 * Credentials encrypted at rest.
 *
 * Each credential version has its own random data-encryption key (DEK).
 * The version's stored blob is the DEK wrapped under the current KEK,
 * followed by the value encrypted under the DEK (both in the format of
 * keyring.h). Both ciphertexts take the same AAD, which binds them to the
 * record: "zguard/credential", then length-prefixed id, the version as a
 * 32-bit big-endian number, then length-prefixed type and owner. A blob
 * copied into another row, version, type or owner fails to decrypt.
 *
 * Revoking erases every version blob (crypto-shredding): the value can no
 * longer be recovered, even with every key. Metadata stays.
 */
#ifndef ZG_VAULT_VAULT_H
#define ZG_VAULT_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "store/store.h"
#include "vault/keyring.h"

#define ZG_LEASE_TOKEN_PREFIX "zgl_"
#define ZG_LEASE_TOKEN_LEN (4 + 64)   /* prefix and 32 random bytes in hex */

typedef struct zg_token_cache zg_token_cache;

typedef struct zg_vault {
	zg_store *st;
	zg_keyring *kr;
	size_t max_value_bytes;
	zg_token_cache *tokens;       /* may be NULL; see authn.h */
} zg_vault;

/* What a caller supplies to create a credential. */
typedef struct zg_cred_input {
	const char *type;             /* one of zg_cred_type_valid */
	const char *name;
	const uint8_t *value;
	size_t value_len;
	const char *metadata_json;    /* a JSON object as text, or NULL */
	const char *permissions_json; /* a JSON array as text, or NULL */
	int64_t expires_at;           /* 0: never */
} zg_cred_input;

/* True for private_key, api_token, database_password, service_account. */
bool zg_cred_type_valid(const char *type);

/* The comma-separated list of valid types, for messages. */
const char *zg_cred_types_list(void);

/* True if id has the form "cred_" followed by 32 lower-case hex digits. */
bool zg_cred_id_valid(const char *id);

/* Creates version 1 of a new credential owned by owner; fills *out. */
zg_err zg_vault_cred_create(zg_vault *v, const char *owner,
    const zg_cred_input *in, zg_cred_row *out, zg_errmsg *em);

/*
 * Decrypts version `version` (0 for the current one) of credential c into
 * a new buffer *value of *len bytes plus a NUL, which the caller wipes and
 * frees. Fails with ZG_ERR_REVOKED, ZG_ERR_EXPIRED (checked against now),
 * ZG_ERR_NOT_FOUND for a version that does not exist, ZG_ERR_INTEGRITY if
 * the stored blob fails to decrypt.
 */
zg_err zg_vault_cred_value(zg_vault *v, const zg_cred_row *c, uint32_t version,
    int64_t now, uint8_t **value, size_t *len, uint32_t *out_version,
    zg_errmsg *em);

/*
 * Adds a version with a new DEK and value (value NULL: 32 random bytes as
 * 64 hex digits) and updates *c to the new state.
 */
zg_err zg_vault_cred_rotate(zg_vault *v, zg_cred_row *c, const uint8_t *value,
    size_t value_len, zg_errmsg *em);

/* Destroys every DEK of the credential and updates *c. */
zg_err zg_vault_cred_revoke(zg_vault *v, zg_cred_row *c, zg_errmsg *em);

/*
 * Creates a one-time lease on the current version of c for ttl seconds.
 * token receives a NUL-terminated lease token (ZG_LEASE_TOKEN_LEN + 1
 * bytes); only its keyed hash is stored.
 */
zg_err zg_vault_lease_create(zg_vault *v, const zg_cred_row *c, int64_t ttl_s,
    char token[ZG_LEASE_TOKEN_LEN + 1], int64_t *expires_at,
    uint32_t *version, zg_errmsg *em);

/*
 * Redeems a lease token once: returns the value as zg_vault_cred_value does
 * and the credential row in *c. ZG_ERR_GONE after the first use or after
 * expiry; ZG_ERR_NOT_FOUND for an unknown token.
 */
zg_err zg_vault_lease_redeem(zg_vault *v, const char *token, int64_t now,
    zg_cred_row *c, uint8_t **value, size_t *len, uint32_t *version,
    zg_errmsg *em);

/* Makes a random id: prefix followed by nbytes random bytes in hex. */
zg_err zg_make_id(const char *prefix, size_t nbytes, char *out, size_t outsz);

#endif
