#include "authn/jwks.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "authn/jwt.h"
#include "base/log.h"

#define JWKS_MAX_KEYS 256
#define JWKS_DEFAULT_MAX_BYTES (1024 * 1024)
#define JWKS_DEFAULT_CONNECT_TIMEOUT_S 5
#define JWKS_DEFAULT_TIMEOUT_S 10
#define JWKS_DEFAULT_MAX_AGE_CAP_S 86400
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

/* An immutable snapshot of a set; replaced whole on reload. */
typedef struct keyset {
	zg_jwk *keys;
	size_t n;
} keyset;

struct zg_jwks {
	pthread_rwlock_t lock;         /* guards set and the fields below it */
	pthread_mutex_t reload_lock;   /* one reload at a time */
	keyset *set;
	unsigned loads;
	/* file source: the stat of the file the set was read from */
	struct stat file_stat;
	/* URL source, times in Unix seconds */
	int64_t stale_at;
	int64_t next_attempt;
	int64_t last_kid_refetch;
	bool kid_refetched;

	char *path;
	char *url;
	zg_jwks_options opts;
};

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

static void
keyset_free(keyset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		zg_jwk_clear(&s->keys[i]);
	free(s->keys);
	free(s);
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

static zg_err
jwk_from_object(const json_t *obj, zg_jwk *out, zg_errmsg *em)
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
	zg_err err = jwk_from_object(obj, out, em);
	json_decref(obj);
	return err;
}

/*
 * Parses a JWKS document. Keys zguard cannot use are skipped with a log
 * line; a set with no usable key is an error, as is a duplicate kid.
 */
static zg_err
keyset_parse(const char *text, size_t len, const char *source, keyset **out,
    zg_errmsg *em)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	keyset *s = NULL;
	zg_err err = ZG_ERR_INVALID;

	if (doc == NULL) {
		zg_fail(em, err, "JWKS from %s is not valid JSON: %s (line "
		    "%d)", source, jerr.text, jerr.line);
		goto out;
	}
	const json_t *keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		zg_fail(em, err, "JWKS from %s has no \"keys\" array", source);
		goto out;
	}
	size_t n = json_array_size(keys);
	if (n > JWKS_MAX_KEYS) {
		zg_fail(em, err, "JWKS from %s has %zu keys; the maximum is %d",
		    source, n, JWKS_MAX_KEYS);
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->keys = calloc(n ? n : 1, sizeof(*s->keys))) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		zg_errmsg kem = {0};
		zg_jwk k;
		if (jwk_from_object(json_array_get(keys, i), &k, &kem) != ZG_OK) {
			zg_log_warn("skipping JWK", ZGF_S("source", source),
			    ZGF_I("index", i), ZGF_S("reason", kem.text));
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < s->n && !dup; j++)
			dup = strcmp(s->keys[j].kid, k.kid) == 0;
		if (dup) {
			zg_fail(em, err, "JWKS from %s has two keys with kid "
			    "\"%.64s\"", source, k.kid);
			zg_jwk_clear(&k);
			goto out;
		}
		s->keys[s->n++] = k;
	}
	if (s->n == 0) {
		zg_fail(em, err, "JWKS from %s has no usable RSA, EC P-256 or "
		    "Ed25519 signature key", source);
		goto out;
	}
	*out = s;
	s = NULL;
	err = ZG_OK;
out:
	keyset_free(s);
	json_decref(doc);
	return err;
}

static void
jwks_install(zg_jwks *ks, keyset *s, const struct stat *st, int64_t stale_at)
{
	pthread_rwlock_wrlock(&ks->lock);
	keyset *old = ks->set;
	ks->set = s;
	ks->loads++;
	if (st != NULL)
		ks->file_stat = *st;
	ks->stale_at = stale_at;
	pthread_rwlock_unlock(&ks->lock);
	keyset_free(old);
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static zg_err
load_file(zg_jwks *ks, zg_errmsg *em)
{
	struct stat st;
	char *text = NULL;
	keyset *s = NULL;
	zg_err err = ZG_ERR_CONFIG;
	int fd = open(ks->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0) {
		zg_fail(em, err, "cannot read JWKS file %s: %s", ks->path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > JWKS_DEFAULT_MAX_BYTES) {
		zg_fail(em, err, "JWKS file %s is not a regular file of at "
		    "most %d bytes", ks->path, JWKS_DEFAULT_MAX_BYTES);
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			zg_fail(em, err, "cannot read JWKS file %s: %s",
			    ks->path, r < 0 ? strerror(errno) : "short read");
			goto out;
		}
		got += (size_t)r;
	}
	if (keyset_parse(text, got, ks->path, &s, em) != ZG_OK)
		goto out;
	jwks_install(ks, s, &st, 0);
	zg_log_info("JWKS loaded", ZGF_S("file", ks->path),
	    ZGF_I("keys", s->n));
	s = NULL;
	err = ZG_OK;
out:
	if (fd >= 0)
		close(fd);
	keyset_free(s);
	free(text);
	return err;
}

zg_err
zg_jwks_open_file(const char *path, zg_jwks **out, zg_errmsg *em)
{
	zg_jwks *ks = calloc(1, sizeof(*ks));
	zg_err err;

	*out = NULL;
	if (ks == NULL)
		return ZG_ERR_NOMEM;
	pthread_rwlock_init(&ks->lock, NULL);
	pthread_mutex_init(&ks->reload_lock, NULL);
	if ((ks->path = strdup(path)) == NULL) {
		zg_jwks_free(ks);
		return ZG_ERR_NOMEM;
	}
	if ((err = load_file(ks, em)) != ZG_OK) {
		zg_jwks_free(ks);
		return err;
	}
	*out = ks;
	return ZG_OK;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

zg_err
zg_jwks_open_url(const char *url, const zg_jwks_options *opts, zg_jwks **out,
    zg_errmsg *em)
{
	*out = NULL;
	if (strncasecmp(url, "https://", 8) != 0 &&
	    strncasecmp(url, "http://", 7) != 0)
		return zg_fail(em, ZG_ERR_CONFIG,
		    "jwks_url must start with http:// or https://");
	zg_jwks *ks = calloc(1, sizeof(*ks));
	if (ks == NULL)
		return ZG_ERR_NOMEM;
	pthread_rwlock_init(&ks->lock, NULL);
	pthread_mutex_init(&ks->reload_lock, NULL);
	if ((ks->url = strdup(url)) == NULL) {
		zg_jwks_free(ks);
		return ZG_ERR_NOMEM;
	}
	if (opts != NULL)
		ks->opts = *opts;
	if (ks->opts.connect_timeout_seconds <= 0)
		ks->opts.connect_timeout_seconds =
		    JWKS_DEFAULT_CONNECT_TIMEOUT_S;
	if (ks->opts.timeout_seconds <= 0)
		ks->opts.timeout_seconds = JWKS_DEFAULT_TIMEOUT_S;
	if (ks->opts.max_bytes == 0)
		ks->opts.max_bytes = JWKS_DEFAULT_MAX_BYTES;
	if (ks->opts.max_age_cap_seconds <= 0)
		ks->opts.max_age_cap_seconds = JWKS_DEFAULT_MAX_AGE_CAP_S;
	pthread_once(&curl_once, curl_init_once);
	*out = ks;
	return ZG_OK;
}

void
zg_jwks_free(zg_jwks *ks)
{
	if (ks == NULL)
		return;
	keyset_free(ks->set);
	pthread_rwlock_destroy(&ks->lock);
	pthread_mutex_destroy(&ks->reload_lock);
	free(ks->path);
	free(ks->url);
	free(ks);
}

/* A response body being received, and the max-age from its headers. */
typedef struct fetch_buf {
	char *data;
	size_t len;
	size_t max;
	long max_age;                  /* -1 when absent */
	bool too_large;
} fetch_buf;

static size_t
fetch_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	fetch_buf *b = arg;
	size_t n = size * nmemb;
	if (n > b->max - b->len) {
		b->too_large = true;
		return 0;              /* makes curl abort the transfer */
	}
	char *grown = realloc(b->data, b->len + n + 1);
	if (grown == NULL)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Reads max-age from a Cache-Control header; no-store and no-cache
 * count as 0. */
static size_t
fetch_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	fetch_buf *b = arg;
	size_t n = size * nmemb;
	static const char name[] = "cache-control:";
	if (n <= sizeof(name) - 1 || strncasecmp(ptr, name, sizeof(name) - 1))
		return n;
	char line[256];
	size_t m = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
	memcpy(line, ptr, m);
	line[m] = '\0';
	for (char *p = line; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (strstr(line, "no-store") || strstr(line, "no-cache")) {
		b->max_age = 0;
		return n;
	}
	const char *p = strstr(line, "max-age=");
	if (p != NULL) {
		char *end;
		errno = 0;
		long long v = strtoll(p + 8, &end, 10);
		if (end != p + 8 && errno == 0 && v >= 0)
			b->max_age = v > LONG_MAX ? LONG_MAX : (long)v;
	}
	return n;
}

static int64_t
clamp_max_age(const zg_jwks *ks, long max_age)
{
	if (max_age < 0)
		max_age = ZG_JWKS_DEFAULT_MAX_AGE_S;
	if (max_age < ZG_JWKS_MIN_MAX_AGE_S)
		max_age = ZG_JWKS_MIN_MAX_AGE_S;
	if (max_age > ks->opts.max_age_cap_seconds)
		max_age = ks->opts.max_age_cap_seconds;
	return max_age;
}

/* Fetches the URL and installs the set. Called with reload_lock held. */
static zg_err
fetch_url(zg_jwks *ks, int64_t now, zg_errmsg *em)
{
	fetch_buf b = {.max = ks->opts.max_bytes, .max_age = -1};
	keyset *s = NULL;
	long status = 0;
	zg_err err = ZG_ERR_UPSTREAM;
	CURL *c = curl_easy_init();

	if (c == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, ks->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, ks->opts.connect_timeout_seconds);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, ks->opts.timeout_seconds);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)ks->opts.max_bytes);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fetch_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &b);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "zguard-jwks");

	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		zg_fail(em, err, "fetching JWKS from %s failed: %s", ks->url,
		    b.too_large ? "response larger than the maximum" :
		    curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		zg_fail(em, err, "fetching JWKS from %s failed: HTTP status "
		    "%ld", ks->url, status);
		goto out;
	}
	if (keyset_parse(b.data ? b.data : "", b.len, ks->url, &s, em) !=
	    ZG_OK) {
		if (em != NULL)
			em->code = err;
		goto out;
	}
	int64_t max_age = clamp_max_age(ks, b.max_age);
	zg_log_info("JWKS fetched", ZGF_S("url", ks->url),
	    ZGF_I("keys", s->n), ZGF_I("max_age_s", max_age));
	jwks_install(ks, s, NULL, now + max_age);
	s = NULL;
	err = ZG_OK;
out:
	if (err != ZG_OK) {
		zg_log_warn("JWKS fetch failed", ZGF_S("url", ks->url),
		    ZGF_S("reason", em != NULL ? em->text : ""));
		pthread_rwlock_wrlock(&ks->lock);
		ks->next_attempt = now + ZG_JWKS_RETRY_AFTER_FAILURE_S;
		pthread_rwlock_unlock(&ks->lock);
	}
	keyset_free(s);
	free(b.data);
	if (c != NULL)
		curl_easy_cleanup(c);
	return err;
}

/* True when the set should be reloaded before use. */
static bool
jwks_stale(zg_jwks *ks, int64_t now, struct stat *st)
{
	bool stale;
	pthread_rwlock_rdlock(&ks->lock);
	if (ks->path != NULL)
		stale = stat(ks->path, st) == 0 && !same_file(st, &ks->file_stat);
	else
		stale = (ks->set == NULL || now >= ks->stale_at) &&
		    now >= ks->next_attempt;
	pthread_rwlock_unlock(&ks->lock);
	return stale;
}

/*
 * Reloads a stale set. While another thread reloads, a caller that has a
 * set to use goes on with it instead of waiting.
 */
static void
jwks_refresh(zg_jwks *ks, int64_t now, bool force)
{
	struct stat st;
	zg_errmsg em = {0};

	if (!force && !jwks_stale(ks, now, &st))
		return;
	pthread_rwlock_rdlock(&ks->lock);
	bool have_set = ks->set != NULL;
	pthread_rwlock_unlock(&ks->lock);
	if (have_set) {
		if (pthread_mutex_trylock(&ks->reload_lock) != 0)
			return;
	} else {
		pthread_mutex_lock(&ks->reload_lock);
	}
	if (force || jwks_stale(ks, now, &st)) {
		if (ks->path != NULL && load_file(ks, &em) != ZG_OK)
			zg_log_warn("JWKS reload failed; keeping the old set",
			    ZGF_S("file", ks->path), ZGF_S("reason", em.text));
		else if (ks->url != NULL)
			(void)fetch_url(ks, now, &em);
	}
	pthread_mutex_unlock(&ks->reload_lock);
}

/* Looks kid up in the current set. Returns 1 if found, 0 if not, -1 if
 * there is no set, -2 if kid is NULL and the set has several keys. */
static int
jwks_lookup(zg_jwks *ks, const char *kid, zg_jwk *out)
{
	int found = 0;
	pthread_rwlock_rdlock(&ks->lock);
	const keyset *s = ks->set;
	if (s == NULL) {
		found = -1;
	} else if (kid == NULL) {
		if (s->n == 1)
			found = 1;
		else
			found = -2;
		if (found == 1)
			*out = s->keys[0];
	} else {
		for (size_t i = 0; i < s->n && !found; i++) {
			if (strcmp(s->keys[i].kid, kid) == 0) {
				*out = s->keys[i];
				found = 1;
			}
		}
	}
	if (found == 1)
		EVP_PKEY_up_ref(out->pkey);
	pthread_rwlock_unlock(&ks->lock);
	return found;
}

zg_err
zg_jwks_find(zg_jwks *ks, const char *kid, int64_t now, zg_jwk *out,
    zg_errmsg *em)
{
	char q[ZG_QUOTE_MAX];

	memset(out, 0, sizeof(*out));
	jwks_refresh(ks, now, false);
	int found = jwks_lookup(ks, kid, out);

	/* An issuer that rotates keys publishes the new kid before using it,
	 * so an unknown kid may mean the cached set is old. */
	if (found == 0 && ks->url != NULL) {
		bool refetch = false;
		pthread_rwlock_wrlock(&ks->lock);
		if (!ks->kid_refetched || now - ks->last_kid_refetch >=
		    ZG_JWKS_UNKNOWN_KID_REFETCH_S) {
			ks->kid_refetched = true;
			ks->last_kid_refetch = now;
			refetch = true;
		}
		pthread_rwlock_unlock(&ks->lock);
		if (refetch) {
			jwks_refresh(ks, now, true);
			found = jwks_lookup(ks, kid, out);
		}
	}

	switch (found) {
	case 1:
		return ZG_OK;
	case -1:
		return zg_fail(em, ZG_ERR_UPSTREAM, "the issuer's JWKS at %s "
		    "could not be fetched; see the daemon log", ks->url);
	case -2:
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token has no "
		    "kid and the issuer's key set has several keys");
	default:
		zg_quote_value(kid, q, sizeof(q));
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "no key with kid "
		    "\"%s\" in the issuer's key set", q);
	}
}

unsigned
zg_jwks_load_count(zg_jwks *ks)
{
	pthread_rwlock_rdlock(&ks->lock);
	unsigned n = ks->loads;
	pthread_rwlock_unlock(&ks->lock);
	return n;
}
