/*
 * JWS compact serialization (RFC 7515): base64url without padding, the
 * allowed algorithms, the header checks and the signature check with
 * OpenSSL 3 EVP. The claims of an OIDC token are checked in jwt.c.
 */
#include "authn/jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "authn/jws_internal.h"

static const struct {
	const char *name;
	unsigned bit;
	zg_jwk_type key_type;
} jws_algs[] = {
	{"RS256", ZG_JWS_RS256, ZG_JWK_RSA},
	{"PS256", ZG_JWS_PS256, ZG_JWK_RSA},
	{"ES256", ZG_JWS_ES256, ZG_JWK_EC_P256},
	{"EdDSA", ZG_JWS_EDDSA, ZG_JWK_ED25519},
};

#define N_JWS_ALGS (sizeof(jws_algs) / sizeof(jws_algs[0]))

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

zg_err
zg_base64url_decode(const char *in, size_t len, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	if (len % 4 == 1)
		return ZG_ERR_INVALID;
	size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	if (need > outsz)
		return ZG_ERR_INVALID;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(in[i]);
		if (v < 0)
			return ZG_ERR_INVALID;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* RFC 4648 section 3.5: unused trailing bits must be zero, so that
	 * each byte string has exactly one encoding. */
	if (acc != 0)
		return ZG_ERR_INVALID;
	*outlen = o;
	return ZG_OK;
}

void
zg_base64url_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url_alphabet[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = b64url_alphabet[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

zg_err
zg_jws_parse_algorithms(const char *list, unsigned *mask, zg_errmsg *em)
{
	char q[ZG_QUOTE_MAX];
	*mask = 0;
	const char *p = list;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		size_t n = strcspn(p, ", ");
		if (n == 0)
			break;
		char name[32];
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		p += n;
		size_t i;
		for (i = 0; i < N_JWS_ALGS; i++)
			if (strcmp(name, jws_algs[i].name) == 0)
				break;
		if (i < N_JWS_ALGS) {
			*mask |= jws_algs[i].bit;
			continue;
		}
		zg_quote_value(name, q, sizeof(q));
		return zg_fail(em, ZG_ERR_CONFIG, "algorithm \"%s\" is not "
		    "supported; use RS256, PS256, ES256 or EdDSA (none and "
		    "HMAC algorithms are never accepted)", q);
	}
	if (*mask == 0)
		return zg_fail(em, ZG_ERR_CONFIG, "the algorithm list is empty; "
		    "use RS256, PS256, ES256 or EdDSA");
	return ZG_OK;
}

/* Decodes one base64url segment into a malloc'ed, NUL-terminated buffer. */
zg_err
zg_jws_segment_decode(const char *s, size_t len, const char *what,
    uint8_t **out, size_t *outlen, zg_errmsg *em)
{
	uint8_t *buf = malloc(len * 3 / 4 + 2);
	if (buf == NULL)
		return ZG_ERR_NOMEM;
	if (zg_base64url_decode(s, len, buf, len * 3 / 4 + 1, outlen) !=
	    ZG_OK) {
		free(buf);
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token's %s is "
		    "not valid unpadded base64url", what);
	}
	buf[*outlen] = '\0';
	*out = buf;
	return ZG_OK;
}

zg_err
zg_jws_json_object_decode(const uint8_t *text, size_t len,
    const char *what, json_t **out, zg_errmsg *em)
{
	json_error_t jerr;
	json_t *v = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (!json_is_object(v)) {
		json_decref(v);
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token's %s is "
		    "not a JSON object without duplicate names", what);
	}
	*out = v;
	return ZG_OK;
}

static const char *
alg_name(unsigned alg)
{
	for (size_t i = 0; i < N_JWS_ALGS; i++)
		if (jws_algs[i].bit == alg)
			return jws_algs[i].name;
	return "?";
}

/* Converts a 64-byte r||s to the DER ECDSA-Sig-Value OpenSSL verifies. */
static zg_err
es256_to_der(const uint8_t sig[64], uint8_t **der, int *der_len)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL);
	BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
	zg_err err = ZG_ERR_NOMEM;

	if (es == NULL || r == NULL || s == NULL)
		goto out;
	if (!ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL;              /* owned by es now */
	*der = NULL;
	if ((*der_len = i2d_ECDSA_SIG(es, der)) <= 0)
		goto out;
	err = ZG_OK;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return err;
}

static zg_err
signature_check(unsigned alg, EVP_PKEY *pkey, const char *input,
    size_t input_len, const uint8_t *sig, size_t sig_len, zg_errmsg *em)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *der = NULL;
	int der_len = 0;
	zg_err err = ZG_ERR_NOMEM;
	int ok;

	/* ES256 wants the 64-byte r||s; a DER signature fails here. */
	size_t want = alg == ZG_JWS_ES256 ? 64 : alg == ZG_JWS_EDDSA ?
	    ZG_ED25519_SIG_LEN : (size_t)EVP_PKEY_get_size(pkey);
	if (sig_len != want) {
		err = zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token's "
		    "signature is %zu bytes; %s needs %zu", sig_len,
		    alg_name(alg), want);
		goto out;
	}
	if (md == NULL)
		goto out;
	err = ZG_ERR_CRYPTO;
	if (alg == ZG_JWS_EDDSA) {
		if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) <= 0)
			goto out;
	} else if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL,
	    pkey) <= 0) {
		goto out;
	}
	/* RFC 7518 section 3.5: PS256 uses MGF1 with SHA-256 and a salt as
	 * long as the hash. */
	if (alg == ZG_JWS_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) <= 0))
		goto out;
	if (alg == ZG_JWS_RS256 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto out;
	if (alg == ZG_JWS_ES256) {
		if ((err = es256_to_der(sig, &der, &der_len)) != ZG_OK)
			goto out;
		sig = der;
		sig_len = (size_t)der_len;
	}
	ok = EVP_DigestVerify(md, sig, sig_len, (const uint8_t *)input,
	    input_len);
	if (ok != 1) {
		err = zg_fail(em, ZG_ERR_UNAUTHENTICATED,
		    "the token's signature is invalid");
		goto out;
	}
	/* success */
	err = ZG_OK;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return err;
}

/*
 * Checks the length, splits the token and checks the header (steps 1 and
 * 2 in jwt.h). On success *alg is the algorithm bit and *header the parsed
 * header, which the caller releases.
 */
zg_err
zg_jws_split(const char *token, size_t len, unsigned algorithms,
    size_t dots[2], json_t **header, unsigned *alg, zg_errmsg *em)
{
	uint8_t *text = NULL;
	size_t text_len;
	char q[ZG_QUOTE_MAX];
	zg_err err;

	*header = NULL;
	if (len > ZG_JWT_MAX_LEN)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token is longer "
		    "than %d bytes", ZG_JWT_MAX_LEN);
	int n = 0;
	for (size_t i = 0; i < len; i++) {
		if (token[i] != '.')
			continue;
		if (n == 2)
			return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token "
			    "has more than three segments; only the JWS "
			    "compact serialization is accepted");
		dots[n++] = i;
	}
	if (n != 2 || dots[0] == 0 || dots[1] == dots[0] + 1 ||
	    dots[1] + 1 == len)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token is not "
		    "three non-empty segments header.payload.signature");

	if ((err = zg_jws_segment_decode(token, dots[0], "header", &text,
	    &text_len, em)) != ZG_OK)
		goto out;
	if ((err = zg_jws_json_object_decode(text, text_len, "header",
	    header, em)) != ZG_OK)
		goto out;

	err = ZG_ERR_UNAUTHENTICATED;
	const char *name = json_string_value(json_object_get(*header, "alg"));
	if (name == NULL) {
		zg_fail(em, err, "the token's header has no \"alg\" string");
		goto out;
	}
	if (strcasecmp(name, "none") == 0) {
		zg_fail(em, err, "unsigned tokens (alg \"none\") are rejected");
		goto out;
	}
	if (strncmp(name, "HS", 2) == 0) {
		zg_fail(em, err, "HMAC tokens (alg %.16s) are rejected; the "
		    "issuer must sign with RS256, PS256, ES256 or EdDSA", name);
		goto out;
	}
	*alg = 0;
	for (size_t i = 0; i < N_JWS_ALGS; i++)
		if (strcmp(name, jws_algs[i].name) == 0)
			*alg = jws_algs[i].bit;
	if (*alg == 0 || (*alg & algorithms) == 0) {
		zg_quote_value(name, q, sizeof(q));
		zg_fail(em, err, "alg \"%s\" is not on the allowed list", q);
		goto out;
	}
	/* RFC 7515 section 4.1.11: a recipient must reject a token with a
	 * critical extension it does not implement, and zguard implements
	 * none. */
	if (json_object_get(*header, "crit") != NULL) {
		zg_fail(em, err, "the token's header has \"crit\" extensions, "
		    "which are not supported");
		goto out;
	}
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK) {
		json_decref(*header);
		*header = NULL;
	}
	free(text);
	return err;
}

/* Steps 3 and 4: key type, key alg and the signature itself. */
zg_err
zg_jws_check_key_and_signature(const char *token, size_t len,
    const size_t dots[2], unsigned alg, const zg_jwk *key, zg_errmsg *em)
{
	uint8_t *sig = NULL;
	size_t sig_len;
	zg_err err;
	zg_jwk_type want = 0;

	for (size_t i = 0; i < N_JWS_ALGS; i++)
		if (jws_algs[i].bit == alg)
			want = jws_algs[i].key_type;
	if (key->type != want)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "alg %s needs an %s "
		    "key but the selected key is %s", alg_name(alg),
		    zg_jwk_type_name(want), zg_jwk_type_name(key->type));
	if (key->alg[0] != '\0' && strcmp(key->alg, alg_name(alg)) != 0)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "alg %s differs from "
		    "the key's alg %s", alg_name(alg), key->alg);
	if ((err = zg_jws_segment_decode(token + dots[1] + 1, len - dots[1] - 1,
	    "signature", &sig, &sig_len, em)) != ZG_OK)
		return err;
	err = signature_check(alg, key->pkey, token, dots[1], sig, sig_len, em);
	free(sig);
	return err;
}

zg_err
zg_jws_verify(const char *token, size_t len, const zg_jwk *key,
    unsigned algorithms, uint8_t **payload, size_t *payload_len,
    zg_errmsg *em)
{
	size_t dots[2];
	json_t *header = NULL;
	unsigned alg;
	zg_err err;

	*payload = NULL;
	if ((err = zg_jws_split(token, len, algorithms, dots, &header, &alg,
	    em)) != ZG_OK)
		return err;
	json_decref(header);
	if ((err = zg_jws_segment_decode(token + dots[0] + 1,
	    dots[1] - dots[0] - 1, "payload", payload, payload_len, em)) !=
	    ZG_OK)
		return err;
	if ((err = zg_jws_check_key_and_signature(token, len, dots, alg, key,
	    em)) != ZG_OK) {
		free(*payload);
		*payload = NULL;
	}
	return err;
}
