/*
 * The server's authentication step: one bearer credential in, one
 * principal out, whatever kind of credential it is.
 *
 * - "zgt_..." is a zguard API token (authn.h); a service account's token
 *   works only while the account exists;
 * - three base64url segments joined by dots is an OIDC JWT (jwt.h),
 *   accepted when [oidc] is configured;
 * - anything else is tried as a Magic DID token (did.h), accepted when
 *   [magic] is configured.
 *
 * Before any credential is checked, the source address must not be
 * locked out (lockout.h), nor, for JWT and DID tokens, the subject they
 * claim. Every failure counts against both.
 */
#ifndef ZG_AUTHN_AUTHENTICATOR_H
#define ZG_AUTHN_AUTHENTICATOR_H

#include "authn/authn.h"
#include "base/config.h"

typedef struct zg_authenticator zg_authenticator;

/* ZG_ERR_CONFIG, naming the setting, for a bad [oidc], [magic] or
 * [lockout] section. */
zg_err zg_authenticator_open(const zg_config *cfg, zg_vault *v,
    zg_authenticator **out, zg_errmsg *em);
void zg_authenticator_close(zg_authenticator *a);

/*
 * Verifies an Authorization header from client_ip at now_us. Fails with
 * ZG_ERR_UNAUTHENTICATED (a message saying why, never the credential),
 * ZG_ERR_RATE_LIMITED with *retry_after_s set, or ZG_ERR_UPSTREAM when
 * an identity provider's keys cannot be fetched.
 */
zg_err zg_authenticate(zg_authenticator *a, const char *header,
    const char *client_ip, int64_t now_us, zg_principal *out,
    int64_t *retry_after_s, zg_errmsg *em);

#endif
