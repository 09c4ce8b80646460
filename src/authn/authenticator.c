#include "authn/authenticator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "authn/did.h"
#include "authn/jwt.h"
#include "authn/lockout.h"
#include "base/codec.h"
#include "base/log.h"

struct zg_authenticator {
	zg_vault *vault;
	zg_oidc *oidc;                 /* NULL: OIDC is off */
	char magic_client_id[256];     /* "": Magic is off */
	zg_magic_config magic;
	zg_lockout *lockout;
	char user_claim[64];
	char oidc_prefix[32];          /* prepended to OIDC user ids */
};

zg_err
zg_authenticator_open(const zg_config *cfg, zg_vault *v,
    zg_authenticator **out, zg_errmsg *em)
{
	zg_authenticator *a = calloc(1, sizeof(*a));
	zg_err err;

	*out = NULL;
	if (a == NULL)
		return ZG_ERR_NOMEM;
	a->vault = v;
	snprintf(a->user_claim, sizeof(a->user_claim), "%s",
	    cfg->oidc_user_claim[0] ? cfg->oidc_user_claim : "sub");
	snprintf(a->oidc_prefix, sizeof(a->oidc_prefix), "%s",
	    cfg->oidc_user_prefix);
	if (cfg->oidc_issuer[0] != '\0') {
		zg_oidc_config oc;
		memset(&oc, 0, sizeof(oc));
		oc.issuer = cfg->oidc_issuer;
		oc.audience = cfg->oidc_audience;
		oc.jwks_file = cfg->oidc_jwks_file[0] ? cfg->oidc_jwks_file : NULL;
		oc.jwks_url = cfg->oidc_jwks_url[0] ? cfg->oidc_jwks_url : NULL;
		oc.algorithms = cfg->oidc_algorithms;
		oc.clock_skew_seconds = (int)cfg->oidc_clock_skew_s;
		oc.user_claim = a->user_claim;
		oc.roles_claim = cfg->oidc_roles_claim;
		if ((err = zg_oidc_open(&oc, &a->oidc, em)) != ZG_OK)
			goto out;
	}
	if (cfg->magic_client_id[0] != '\0') {
		snprintf(a->magic_client_id, sizeof(a->magic_client_id), "%s",
		    cfg->magic_client_id);
		a->magic.client_id = a->magic_client_id;
		a->magic.clock_skew_seconds = (int)cfg->magic_clock_skew_s;
	}
	zg_lockout_config lc = {
		.threshold = cfg->lockout_threshold,
		.window_seconds = cfg->lockout_window_s,
		.base_backoff_seconds = cfg->lockout_base_backoff_s,
		.max_backoff_seconds = cfg->lockout_max_backoff_s,
	};
	if ((err = zg_lockout_new(&lc, &a->lockout)) != ZG_OK) {
		err = zg_fail(em, ZG_ERR_CONFIG, "[lockout] base_backoff_seconds "
		    "must not exceed max_backoff_seconds");
		goto out;
	}
	*out = a;
	a = NULL;
	err = ZG_OK;
out:
	zg_authenticator_close(a);
	return err;
}

void
zg_authenticator_close(zg_authenticator *a)
{
	if (a == NULL)
		return;
	zg_oidc_free(a->oidc);
	zg_lockout_free(a->lockout);
	free(a);
}

static bool
looks_like_jwt(const char *t, size_t len)
{
	size_t dots = 0;
	for (size_t i = 0; i < len; i++)
		if (t[i] == '.')
			dots++;
	return dots == 2;
}

/*
 * The subject an unverified JWT or DID token claims, for counting its
 * failures; "" when none can be read. Nothing here is trusted: it only
 * picks the lockout entry.
 */
static void
claimed_subject(zg_authenticator *a, const char *t, size_t len, bool jwt,
    char *out, size_t outsz)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	json_t *j = NULL, *claim = NULL;
	const char *s = NULL;

	out[0] = '\0';
	if ((buf = malloc(len + 1)) == NULL)
		return;
	if (jwt) {
		const char *p = memchr(t, '.', len);
		const char *q = p ? memchr(p + 1, '.', len - (size_t)(p + 1 - t)) :
		    NULL;
		if (q == NULL || zg_base64url_decode(p + 1, (size_t)(q - p - 1),
		    buf, len, &n) != ZG_OK)
			goto out;
		j = json_loadb((const char *)buf, n, 0, NULL);
		s = json_string_value(json_object_get(j, a->user_claim));
	} else {
		if (zg_base64_decode(t, len, buf, len, &n) != ZG_OK)
			goto out;
		j = json_loadb((const char *)buf, n, 0, NULL);
		const char *c = json_string_value(json_array_get(j, 1));
		claim = c ? json_loads(c, 0, NULL) : NULL;
		s = json_string_value(json_object_get(claim, "iss"));
	}
	const char *prefix = jwt ? a->oidc_prefix : "";
	if (s != NULL && strlen(prefix) + strlen(s) < outsz &&
	    zg_user_id_valid(s))
		snprintf(out, outsz, "%s%s", prefix, s);
out:
	json_decref(claim);
	json_decref(j);
	free(buf);
}

static void
from_identity(const zg_identity *id, const char *prefix, zg_principal *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->user_id, sizeof(out->user_id), "%s%s", prefix,
	    id->user_id);
	snprintf(out->subject_type, sizeof(out->subject_type), "user");
	snprintf(out->auth_method, sizeof(out->auth_method), "%s", id->method);
	out->mfa = id->mfa;
	for (size_t i = 0; i < id->n_roles && out->nroles <
	    ZG_PRINCIPAL_ROLES_MAX; i++) {
		if (strlen(id->roles[i]) >= ZG_PRINCIPAL_ROLE_MAX)
			continue;
		snprintf(out->roles[out->nroles++], ZG_PRINCIPAL_ROLE_MAX, "%s",
		    id->roles[i]);
	}
}

/*
 * A service account's token works only while the account exists, and only
 * for the account it was made for: an account deleted and created again
 * under the same name does not revive the old account's tokens.
 */
static zg_err
account_exists(zg_authenticator *a, const zg_principal *p, zg_errmsg *em)
{
	zg_obj_row row;
	zg_err err;
	if (strcmp(p->subject_type, "service_account") != 0)
		return ZG_OK;
	err = a->vault->st->ops->obj_get(a->vault->st, "service_account",
	    p->user_id, &row);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "service account %s "
		    "was deleted", p->user_id);
	if (err == ZG_OK && p->token_created_at < row.created_at)
		err = zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token belongs to "
		    "an earlier service account %s that was deleted",
		    p->user_id);
	zg_obj_row_free(&row);
	return err;
}

zg_err
zg_authenticate(zg_authenticator *a, const char *header,
    const char *client_ip, int64_t now_us, zg_principal *out,
    int64_t *retry_after_s, zg_errmsg *em)
{
	int64_t now = now_us / 1000000;
	char subject[ZG_USER_MAX];
	zg_identity id;
	zg_err err;

	memset(&id, 0, sizeof(id));
	memset(out, 0, sizeof(*out));
	subject[0] = '\0';
	*retry_after_s = 0;
	if (zg_lockout_check(a->lockout, NULL, client_ip, now, retry_after_s) !=
	    ZG_OK)
		return zg_fail(em, ZG_ERR_RATE_LIMITED, "too many failed "
		    "authentications from %s; retry in %lld seconds", client_ip,
		    (long long)*retry_after_s);
	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0) {
		/* zg_authn_bearer words the missing and malformed cases. */
		err = zg_authn_bearer(a->vault, header, now_us, out, em);
		goto out;
	}
	const char *t = header + 7;
	while (*t == ' ')
		t++;
	size_t len = strlen(t);
	while (len > 0 && t[len - 1] == ' ')
		len--;
	if (len == 0) {
		err = zg_fail(em, ZG_ERR_UNAUTHENTICATED, "malformed "
		    "Authorization header: the bearer credential is empty");
		goto out;
	}
	if (len > ZG_JWT_MAX_LEN) {
		err = zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the bearer credential "
		    "is %zu bytes; the limit is %d", len, ZG_JWT_MAX_LEN);
		goto out;
	}
	if (len >= 4 && strncmp(t, ZG_TOKEN_PREFIX, 4) == 0) {
		if ((err = zg_authn_bearer(a->vault, header, now_us, out,
		    em)) == ZG_OK)
			err = account_exists(a, out, em);
		goto out;
	}
	bool jwt = looks_like_jwt(t, len);
	claimed_subject(a, t, len, jwt, subject, sizeof(subject));
	if (subject[0] != '\0' && zg_lockout_check(a->lockout, subject, NULL,
	    now, retry_after_s) != ZG_OK)
		return zg_fail(em, ZG_ERR_RATE_LIMITED, "too many failed "
		    "authentications for %s; retry in %lld seconds", subject,
		    (long long)*retry_after_s);
	if (jwt && a->oidc == NULL)
		err = zg_fail(em, ZG_ERR_UNAUTHENTICATED, "a JWT was sent but "
		    "OIDC is not configured ([oidc] issuer)");
	else if (jwt)
		err = zg_oidc_verify(a->oidc, t, len, now, &id, em);
	else if (a->magic.client_id == NULL)
		err = zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the bearer credential "
		    "is neither a zguard token nor a JWT, and Magic DID tokens "
		    "are not configured ([magic] client_id)");
	else
		err = zg_did_verify(&a->magic, t, len, now, &id, em);
	const char *prefix = jwt ? a->oidc_prefix : "";
	if (err == ZG_OK && (!zg_user_id_valid(id.user_id) ||
	    strlen(prefix) + strlen(id.user_id) >= ZG_USER_MAX))
		err = zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token's user id "
		    "is longer than 128 bytes with its prefix or has characters "
		    "zguard does not accept in user ids (letters, digits and "
		    "._@:+-); map another claim with [oidc] user_claim");
	if (err == ZG_OK) {
		from_identity(&id, prefix, out);
		zg_lockout_success(a->lockout, out->user_id);
	}
out:
	zg_identity_clear(&id);
	if (err == ZG_ERR_UNAUTHENTICATED)
		zg_lockout_failure(a->lockout, subject[0] ? subject : NULL,
		    client_ip, now);
	return err;
}
