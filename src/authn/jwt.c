/*
 * OIDC bearer tokens: opening the issuer's configuration and key set, and
 * the claims checks that turn a JWS-verified token into an identity. The
 * JWS steps themselves are in jws.c.
 */
#include "authn/jwt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authn/jws_internal.h"

struct zg_oidc {
	char *issuer;
	char *audience;
	char *user_claim;
	char *roles_claim;
	unsigned algorithms;
	int skew;
	zg_jwks *keys;
};

void
zg_identity_clear(zg_identity *id)
{
	if (id == NULL)
		return;
	for (size_t i = 0; i < id->n_roles; i++)
		free(id->roles[i]);
	free(id->roles);
	memset(id, 0, sizeof(*id));
}

zg_err
zg_oidc_open(const zg_oidc_config *cfg, zg_oidc **out, zg_errmsg *em)
{
	zg_oidc *o = NULL;
	zg_err err = ZG_ERR_CONFIG;

	*out = NULL;
	if (cfg->issuer == NULL || cfg->issuer[0] == '\0')
		return zg_fail(em, err, "oidc: issuer is required");
	if (cfg->audience == NULL || cfg->audience[0] == '\0')
		return zg_fail(em, err, "oidc: audience is required");
	bool has_file = cfg->jwks_file != NULL && cfg->jwks_file[0] != '\0';
	bool has_url = cfg->jwks_url != NULL && cfg->jwks_url[0] != '\0';
	if (has_file == has_url)
		return zg_fail(em, err, "oidc: set exactly one of jwks_file "
		    "and jwks_url");
	if (cfg->clock_skew_seconds > 600)
		return zg_fail(em, err, "oidc: clock_skew_seconds must be 0 to "
		    "600; got %d", cfg->clock_skew_seconds);

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return ZG_ERR_NOMEM;
	o->skew = cfg->clock_skew_seconds < 0 ? ZG_OIDC_DEFAULT_SKEW_S :
	    cfg->clock_skew_seconds;
	if ((err = zg_jws_parse_algorithms(cfg->algorithms ? cfg->algorithms :
	    "RS256,PS256,ES256,EdDSA", &o->algorithms, em)) != ZG_OK)
		goto out;
	o->issuer = strdup(cfg->issuer);
	o->audience = strdup(cfg->audience);
	o->user_claim = strdup(cfg->user_claim ? cfg->user_claim : "sub");
	o->roles_claim = strdup(cfg->roles_claim ? cfg->roles_claim : "roles");
	if (!o->issuer || !o->audience || !o->user_claim || !o->roles_claim) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if (has_file)
		err = zg_jwks_open_file(cfg->jwks_file, &o->keys, em);
	else
		err = zg_jwks_open_url(cfg->jwks_url, &cfg->jwks, &o->keys, em);
	if (err != ZG_OK)
		goto out;
	*out = o;
	o = NULL;
out:
	zg_oidc_free(o);
	return err;
}

void
zg_oidc_free(zg_oidc *o)
{
	if (o == NULL)
		return;
	zg_jwks_free(o->keys);
	free(o->issuer);
	free(o->audience);
	free(o->user_claim);
	free(o->roles_claim);
	free(o);
}

/*
 * Finds claim name in claims: first as a top-level member, then, if name
 * contains dots, as a path through nested objects ("realm_access.roles").
 * The exact match comes first because claim names are often URLs.
 */
static const json_t *
claim_get(const json_t *claims, const char *name)
{
	const json_t *v = json_object_get(claims, name);
	if (v != NULL || strchr(name, '.') == NULL)
		return v;
	char path[256];
	snprintf(path, sizeof(path), "%s", name);
	v = claims;
	for (char *save = NULL, *part = strtok_r(path, ".", &save);
	    part != NULL && v != NULL; part = strtok_r(NULL, ".", &save))
		v = json_object_get(v, part);
	return v;
}

/* Reads a NumericDate (RFC 7519 section 2), which may have a fraction. */
static bool
numeric_date(const json_t *v, int64_t *out)
{
	if (!json_is_number(v))
		return false;
	double d = json_number_value(v);
	if (!isfinite(d) || d < 0 || d > 1e15)
		return false;
	*out = (int64_t)floor(d);
	return true;
}

static bool
aud_contains(const json_t *aud, const char *audience)
{
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), audience) == 0;
	if (!json_is_array(aud))
		return false;
	size_t i;
	const json_t *v;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v),
		    audience) == 0)
			return true;
	return false;
}

static zg_err
claims_times(const zg_oidc *o, const json_t *claims, int64_t now,
    zg_identity *out, zg_errmsg *em)
{
	const json_t *v;
	int64_t t;

	if (!numeric_date(json_object_get(claims, "exp"), &t))
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED,
		    "the token has no valid \"exp\" claim");
	if (now > t + o->skew)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token expired "
		    "%lld seconds ago", (long long)(now - t));
	out->expires_at = t;
	if ((v = json_object_get(claims, "nbf")) != NULL) {
		if (!numeric_date(v, &t))
			return zg_fail(em, ZG_ERR_UNAUTHENTICATED,
			    "the token's \"nbf\" claim is not a NumericDate");
		if (t > now + o->skew)
			return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token is "
			    "not valid for another %lld seconds (nbf)",
			    (long long)(t - now));
	}
	if ((v = json_object_get(claims, "iat")) != NULL) {
		if (!numeric_date(v, &t))
			return zg_fail(em, ZG_ERR_UNAUTHENTICATED,
			    "the token's \"iat\" claim is not a NumericDate");
		if (t > now + o->skew)
			return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token "
			    "was issued %lld seconds in the future (iat)",
			    (long long)(t - now));
	}
	return ZG_OK;
}

static zg_err
claims_roles(const zg_oidc *o, const json_t *claims, zg_identity *out,
    zg_errmsg *em)
{
	const json_t *roles = claim_get(claims, o->roles_claim);
	const json_t *v;
	size_t i;

	if (roles == NULL)
		return ZG_OK;
	if (!json_is_array(roles))
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token's roles "
		    "claim \"%.64s\" is not an array of strings",
		    o->roles_claim);
	if (json_array_size(roles) > ZG_IDENTITY_ROLES_MAX)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token has %zu "
		    "roles; the maximum is %d", json_array_size(roles),
		    ZG_IDENTITY_ROLES_MAX);
	if (json_array_size(roles) == 0)
		return ZG_OK;
	if ((out->roles = calloc(json_array_size(roles), sizeof(char *))) ==
	    NULL)
		return ZG_ERR_NOMEM;
	json_array_foreach(roles, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > ZG_ROLE_NAME_MAX)
			return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "each role in "
			    "claim \"%.64s\" must be a string of 1 to %d bytes",
			    o->roles_claim, ZG_ROLE_NAME_MAX);
		if ((out->roles[i] = strdup(json_string_value(v))) == NULL)
			return ZG_ERR_NOMEM;
		out->n_roles++;
	}
	return ZG_OK;
}

static zg_err
claims_check(const zg_oidc *o, const json_t *claims, int64_t now,
    zg_identity *out, zg_errmsg *em)
{
	const json_t *v;
	size_t i;
	zg_err err;

	const char *iss = json_string_value(json_object_get(claims, "iss"));
	if (iss == NULL || strcmp(iss, o->issuer) != 0)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token's \"iss\" "
		    "is missing or not the configured issuer");
	if (!aud_contains(json_object_get(claims, "aud"), o->audience))
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token's \"aud\" "
		    "does not contain the configured audience");
	if ((err = claims_times(o, claims, now, out, em)) != ZG_OK)
		return err;

	v = claim_get(claims, o->user_claim);
	size_t n = json_string_length(v);
	if (!json_is_string(v) || n == 0 || n >= sizeof(out->user_id))
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token's user "
		    "claim \"%.64s\" must be a string of 1 to %zu bytes",
		    o->user_claim, sizeof(out->user_id) - 1);
	for (const char *p = json_string_value(v); *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token's "
			    "user claim contains a control character");
	memcpy(out->user_id, json_string_value(v), n + 1);

	if ((err = claims_roles(o, claims, out, em)) != ZG_OK)
		return err;

	if ((v = json_object_get(claims, "amr")) != NULL) {
		if (!json_is_array(v))
			return zg_fail(em, ZG_ERR_UNAUTHENTICATED,
			    "the token's \"amr\" claim is not an array");
		const json_t *m;
		json_array_foreach(v, i, m) {
			const char *s = json_string_value(m);
			if (s != NULL && (strcmp(s, "mfa") == 0 ||
			    strcmp(s, "otp") == 0 || strcmp(s, "hwk") == 0))
				out->mfa = true;
		}
	}
	out->method = "oidc";
	return ZG_OK;
}

zg_err
zg_oidc_verify(zg_oidc *o, const char *token, size_t len, int64_t now,
    zg_identity *out, zg_errmsg *em)
{
	size_t dots[2];
	json_t *header = NULL, *claims = NULL;
	uint8_t *payload = NULL;
	size_t payload_len;
	zg_jwk key = {0};
	unsigned alg;
	zg_err err;

	memset(out, 0, sizeof(*out));
	if ((err = zg_jws_split(token, len, o->algorithms, dots, &header, &alg,
	    em)) != ZG_OK)
		goto out;
	const json_t *kid = json_object_get(header, "kid");
	if (kid != NULL && !json_is_string(kid)) {
		err = zg_fail(em, ZG_ERR_UNAUTHENTICATED,
		    "the token's \"kid\" is not a string");
		goto out;
	}
	/* Decoding first names malformed base64url as such; the payload is
	 * not interpreted before the signature is checked. */
	if ((err = zg_jws_segment_decode(token + dots[0] + 1,
	    dots[1] - dots[0] - 1, "payload", &payload, &payload_len, em)) !=
	    ZG_OK)
		goto out;
	if ((err = zg_jwks_find(o->keys, json_string_value(kid), now, &key,
	    em)) != ZG_OK)
		goto out;
	if ((err = zg_jws_check_key_and_signature(token, len, dots, alg, &key,
	    em)) != ZG_OK)
		goto out;
	if ((err = zg_jws_json_object_decode(payload, payload_len,
	    "payload", &claims, em)) != ZG_OK)
		goto out;
	if ((err = claims_check(o, claims, now, out, em)) != ZG_OK)
		goto out;
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_identity_clear(out);
	zg_jwk_clear(&key);
	json_decref(header);
	json_decref(claims);
	free(payload);
	return err;
}
