/*
 * API tokens and authentication.
 *
 * A token is "zgt_" followed by 32 random bytes in hex. The store keeps
 * only HMAC-SHA-256 of the token under the system key "token_hmac"; a
 * lookup recomputes the HMAC and compares the stored one in constant time.
 * Token ids ("tok_" and 12 random bytes in hex) are not secret and appear
 * in logs and audit events in place of the token.
 */
#ifndef ZG_AUTHN_AUTHN_H
#define ZG_AUTHN_AUTHN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "store/store.h"
#include "vault/vault.h"

#define ZG_TOKEN_PREFIX "zgt_"
#define ZG_TOKEN_LEN (4 + 64)
#define ZG_TOKEN_MAX_TTL_S (366LL * 24 * 3600)
#define ZG_ADMIN_TOKEN_FILE "admin.token"
#define ZG_BOOTSTRAP_USER "admin"

#define ZG_PRINCIPAL_ROLES_MAX 16
#define ZG_PRINCIPAL_ROLE_MAX 65

/*
 * Who is calling: taken from a verified credential, never from a request
 * body. token_id names the zguard token, or is "" for a JWT or DID token.
 */
typedef struct zg_principal {
	char user_id[ZG_USER_MAX];
	char token_id[ZG_ID_MAX];
	char subject_type[ZG_SUBJECT_TYPE_MAX]; /* "user", "service_account" */
	char auth_method[16];                   /* "token", "oidc", "magic" */
	bool mfa;
	/* Roles an identity provider asserted (the JWT roles claim). */
	char roles[ZG_PRINCIPAL_ROLES_MAX][ZG_PRINCIPAL_ROLE_MAX];
	unsigned nroles;
	char *scope;          /* owned JSON text; NULL when unscoped */
	int64_t token_created_at;               /* zguard tokens only */
} zg_principal;

/* Frees what p owns. */
void zg_principal_clear(zg_principal *p);

/*
 * Verifies an Authorization header value ("Bearer <token>"). Fails with
 * ZG_ERR_UNAUTHENTICATED for a missing, malformed, unknown, expired or
 * revoked token, with a message that says which but never echoes the token.
 */
zg_err zg_authn_bearer(zg_vault *v, const char *header, int64_t now,
    zg_principal *out, zg_errmsg *em);

/*
 * The verified-token cache (token_cache.c). zg_vault.tokens may be NULL,
 * and then every verification reads the store.
 */
zg_token_cache *zg_token_cache_new(void);
void zg_token_cache_free(zg_token_cache *c);
/* Copies the cached row for hash into *out if it is fresh. */
bool zg_token_cache_get(zg_token_cache *c, const uint8_t hash[32],
    int64_t now, zg_token_row *out);
void zg_token_cache_put(zg_token_cache *c, const zg_token_row *row,
    int64_t now);
/* Drops the entry of token id, after a revocation. */
void zg_token_cache_forget(zg_token_cache *c, const char *id);

/* True if user_id is 1 to 128 bytes of [A-Za-z0-9._@:+-]. */
bool zg_user_id_valid(const char *user_id);

/* True if id has the form "tok_" followed by 24 lower-case hex digits. */
bool zg_token_id_valid(const char *id);

/*
 * Creates a token for user_id (of subject_type, NULL for "user") valid
 * for ttl_s seconds (0: never expires), limited to scope (a JSON array of
 * permissions as text, or NULL for everything its subject may do).
 * token receives the secret (ZG_TOKEN_LEN + 1 bytes), to be shown once.
 */
zg_err zg_token_create(zg_vault *v, const char *user_id,
    const char *subject_type, const char *scope, int64_t ttl_s,
    char token[ZG_TOKEN_LEN + 1], zg_token_row *row);

/* Revokes token id. ZG_ERR_NOT_FOUND if it does not exist. */
zg_err zg_token_revoke(zg_vault *v, const char *id);

/*
 * On the first start of a data directory, creates an admin token that never
 * expires and writes it to DIR/admin.token (mode 0600, created exclusively).
 * Later starts leave everything as it is. The token is never logged.
 */
zg_err zg_token_bootstrap(zg_vault *v, const char *data_dir, zg_errmsg *em);

#endif
