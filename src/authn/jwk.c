/*
 * Parsing one JSON Web Key (RFC 7517) into an OpenSSL public key: RSA
 * (n, e), EC P-256 (x, y) and OKP Ed25519 (x). Keys of a size zguard
 * does not accept are rejected here.
 */
#include "authn/jwks.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "authn/jwks_internal.h"
#include "authn/jwt.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

void
zg_jwk_clear(zg_jwk *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

const char *
zg_jwk_type_name(zg_jwk_type type)
{
	switch (type) {
	case ZG_JWK_RSA:
		return "RSA";
	case ZG_JWK_EC_P256:
		return "EC P-256";
	case ZG_JWK_ED25519:
		return "Ed25519";
	}
	return "unknown";
}

/* Decodes base64url member name of jwk into a malloc'ed buffer. */
static zg_err
member_bytes(const json_t *jwk, const char *name, uint8_t **out,
    size_t *outlen, zg_errmsg *em)
{
	const json_t *v = json_object_get(jwk, name);
	if (!json_is_string(v))
		return zg_fail(em, ZG_ERR_INVALID,
		    "JWK member \"%s\" is missing or not a string", name);
	size_t len = json_string_length(v);
	uint8_t *buf = malloc(len * 3 / 4 + 1);
	if (buf == NULL)
		return ZG_ERR_NOMEM;
	if (zg_base64url_decode(json_string_value(v), len, buf, len * 3 / 4 + 1,
	    outlen) != ZG_OK || *outlen == 0) {
		free(buf);
		return zg_fail(em, ZG_ERR_INVALID,
		    "JWK member \"%s\" is not valid base64url", name);
	}
	*out = buf;
	return ZG_OK;
}

static zg_err
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	zg_err err = ZG_ERR_INVALID;

	if (params == NULL || ctx == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	err = ZG_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return err;
}

static zg_err
rsa_from_jwk(const json_t *jwk, EVP_PKEY **out, zg_errmsg *em)
{
	uint8_t *n = NULL, *e = NULL;
	size_t n_len, e_len;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	zg_err err;

	if ((err = member_bytes(jwk, "n", &n, &n_len, em)) != ZG_OK)
		goto out;
	if ((err = member_bytes(jwk, "e", &e, &e_len, em)) != ZG_OK)
		goto out;
	err = ZG_ERR_INVALID;
	if (n_len * 8 > RSA_MAX_BITS || e_len > 8) {
		zg_fail(em, err, "RSA JWK: modulus above %d bits or exponent "
		    "above 64 bits", RSA_MAX_BITS);
		goto out;
	}
	bn_n = BN_bin2bn(n, (int)n_len, NULL);
	bn_e = BN_bin2bn(e, (int)e_len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn_n == NULL || bn_e == NULL || bld == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if ((err = pkey_fromdata("RSA", bld, out)) != ZG_OK) {
		zg_fail(em, err, "RSA JWK: OpenSSL rejected n or e");
		goto out;
	}
	if (EVP_PKEY_get_bits(*out) < RSA_MIN_BITS) {
		EVP_PKEY_free(*out);
		*out = NULL;
		err = zg_fail(em, ZG_ERR_INVALID, "RSA JWK: modulus below %d "
		    "bits (RFC 7518 section 3.3)", RSA_MIN_BITS);
		goto out;
	}
	/* success */
	err = ZG_OK;
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	return err;
}

static zg_err
ec_from_jwk(const json_t *jwk, EVP_PKEY **out, zg_errmsg *em)
{
	uint8_t *x = NULL, *y = NULL;
	size_t x_len, y_len;
	uint8_t point[65];
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY_CTX *check = NULL;
	zg_err err;

	if (!json_is_string(json_object_get(jwk, "crv")) ||
	    strcmp(json_string_value(json_object_get(jwk, "crv")), "P-256"))
		return zg_fail(em, ZG_ERR_INVALID,
		    "EC JWK: only crv \"P-256\" is supported");
	if ((err = member_bytes(jwk, "x", &x, &x_len, em)) != ZG_OK)
		goto out;
	if ((err = member_bytes(jwk, "y", &y, &y_len, em)) != ZG_OK)
		goto out;
	/* RFC 7518 section 6.2.1.2: x and y have the full coordinate size. */
	if (x_len != 32 || y_len != 32) {
		err = zg_fail(em, ZG_ERR_INVALID,
		    "EC JWK: x and y must be 32 bytes each for P-256");
		goto out;
	}
	point[0] = 0x04;
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    point, sizeof(point))) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if ((err = pkey_fromdata("EC", bld, out)) != ZG_OK) {
		zg_fail(em, err, "EC JWK: the point is not on P-256");
		goto out;
	}
	check = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
	if (check == NULL || EVP_PKEY_public_check(check) <= 0) {
		EVP_PKEY_free(*out);
		*out = NULL;
		err = zg_fail(em, ZG_ERR_INVALID,
		    "EC JWK: the point is not a valid P-256 public key");
		goto out;
	}
	/* success */
	err = ZG_OK;
out:
	EVP_PKEY_CTX_free(check);
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return err;
}

static zg_err
okp_from_jwk(const json_t *jwk, EVP_PKEY **out, zg_errmsg *em)
{
	uint8_t *x = NULL;
	size_t x_len;
	zg_err err;

	if (!json_is_string(json_object_get(jwk, "crv")) ||
	    strcmp(json_string_value(json_object_get(jwk, "crv")), "Ed25519"))
		return zg_fail(em, ZG_ERR_INVALID,
		    "OKP JWK: only crv \"Ed25519\" is supported");
	if ((err = member_bytes(jwk, "x", &x, &x_len, em)) != ZG_OK)
		return err;
	err = ZG_ERR_INVALID;
	if (x_len != ZG_ED25519_PUB_LEN) {
		zg_fail(em, err, "OKP JWK: x must be 32 bytes for Ed25519");
		goto out;
	}
	*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, x_len);
	if (*out == NULL) {
		zg_fail(em, err, "OKP JWK: OpenSSL rejected x");
		goto out;
	}
	err = ZG_OK;
out:
	free(x);
	return err;
}

zg_err
zg_jwk_from_object(const json_t *obj, zg_jwk *out, zg_errmsg *em)
{
	const char *kty = json_string_value(json_object_get(obj, "kty"));
	const json_t *kid = json_object_get(obj, "kid");
	const json_t *alg = json_object_get(obj, "alg");
	const json_t *use = json_object_get(obj, "use");
	zg_err err;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return zg_fail(em, ZG_ERR_INVALID, "a JWK must be an object");
	if (kty == NULL)
		return zg_fail(em, ZG_ERR_INVALID,
		    "JWK member \"kty\" is missing or not a string");
	if (use != NULL && (!json_is_string(use) ||
	    strcmp(json_string_value(use), "sig") != 0))
		return zg_fail(em, ZG_ERR_INVALID,
		    "JWK \"use\" is not \"sig\"");
	if (kid != NULL) {
		if (!json_is_string(kid) ||
		    json_string_length(kid) >= sizeof(out->kid))
			return zg_fail(em, ZG_ERR_INVALID, "JWK \"kid\" must be "
			    "a string of at most %zu bytes",
			    sizeof(out->kid) - 1);
		memcpy(out->kid, json_string_value(kid),
		    json_string_length(kid) + 1);
	}
	if (alg != NULL) {
		if (!json_is_string(alg) ||
		    json_string_length(alg) >= sizeof(out->alg))
			return zg_fail(em, ZG_ERR_INVALID,
			    "JWK \"alg\" must be a short string");
		memcpy(out->alg, json_string_value(alg),
		    json_string_length(alg) + 1);
	}

	if (strcmp(kty, "RSA") == 0) {
		out->type = ZG_JWK_RSA;
		err = rsa_from_jwk(obj, &out->pkey, em);
	} else if (strcmp(kty, "EC") == 0) {
		out->type = ZG_JWK_EC_P256;
		err = ec_from_jwk(obj, &out->pkey, em);
	} else if (strcmp(kty, "OKP") == 0) {
		out->type = ZG_JWK_ED25519;
		err = okp_from_jwk(obj, &out->pkey, em);
	} else {
		/* "oct" keys are HMAC secrets, which zguard never uses. */
		err = zg_fail(em, ZG_ERR_INVALID,
		    "JWK kty must be RSA, EC or OKP");
	}
	if (err != ZG_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

zg_err
zg_jwk_from_json(const char *json, size_t len, zg_jwk *out, zg_errmsg *em)
{
	json_error_t jerr;
	json_t *obj = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		return zg_fail(em, ZG_ERR_INVALID, "JWK is not valid JSON: %s",
		    jerr.text);
	zg_err err = zg_jwk_from_object(obj, out, em);
	json_decref(obj);
	return err;
}
