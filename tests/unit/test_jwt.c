/*
 * Unit tests for JWS verification, OIDC claim checks and JWKS loading.
 *
 * Known answers: the RFC 7515 appendix A.2 (RS256) and A.3 (ES256)
 * examples and the RFC 8037 appendix A.4 (Ed25519) example.
 * NOTE: the RFC texts were not opened here. The token and key strings are
 * copied as several JOSE test suites quote them, and each test checks that
 * the signature verifies under its key and that a one-byte change fails.
 *
 * Every other token is signed at run time with keys OpenSSL generates.
 * The JWKS URL test serves the set from a thread listening on 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "authn/jwks.h"
#include "authn/jwt.h"

#define NOW 1700000000
#define ISSUER "https://issuer.test"
#define AUDIENCE "zguard"

static const char RFC7515_A2_N[] =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4q"
    "PCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ4"
    "7soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBE"
    "Ma2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWN"
    "moudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

static const char RFC7515_A2_JWS[] =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4"
    "Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_n"
    "ZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_"
    "dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np"
    "6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

static const char RFC7515_A3_JWK[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

static const char RFC7515_A3_JWS[] =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

static const char RFC8037_A2_JWK[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";

static const char RFC8037_A4_JWS[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g"
    "7sVvpAr_MuM0KAg";

/*
 * A minimal HTTP/1.0 server on 127.0.0.1 that sends one JWKS body for
 * every request, for the JWKS URL tests. It serves one connection at a
 * time and closes it after the response.
 */
typedef struct zgt_jwks_server {
	int fd;
	unsigned port;
	pthread_t thread;
	pthread_mutex_t lock;          /* guards body */
	char body[8192];
	const char *cache_control;     /* NULL: no Cache-Control header */
	atomic_int requests;
	atomic_bool stop;
} zgt_jwks_server;

static void *
server_main(void *arg)
{
	zgt_jwks_server *srv = arg;
	while (!atomic_load(&srv->stop)) {
		struct pollfd pfd = {.fd = srv->fd, .events = POLLIN};
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		int c = accept(srv->fd, NULL, NULL);
		if (c < 0)
			continue;
		char req[4096];
		size_t got = 0;
		while (got < sizeof(req) - 1) {
			ssize_t r = recv(c, req + got, sizeof(req) - 1 - got, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		atomic_fetch_add(&srv->requests, 1);
		char head[256], cc[96] = "";
		pthread_mutex_lock(&srv->lock);
		size_t len = strlen(srv->body);
		if (srv->cache_control != NULL)
			snprintf(cc, sizeof(cc), "Cache-Control: %s\r\n",
			    srv->cache_control);
		int n = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\n"
		    "Content-Type: application/json\r\n%s"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		    cc, len);
		(void)!send(c, head, (size_t)n, MSG_NOSIGNAL);
		(void)!send(c, srv->body, len, MSG_NOSIGNAL);
		pthread_mutex_unlock(&srv->lock);
		close(c);
	}
	return NULL;
}

static int
zgt_jwks_server_start(zgt_jwks_server *srv, const char *body,
    const char *cache_control)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(addr);

	memset(srv, 0, sizeof(*srv));
	pthread_mutex_init(&srv->lock, NULL);
	snprintf(srv->body, sizeof(srv->body), "%s", body);
	srv->cache_control = cache_control;
	srv->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv->fd < 0 || bind(srv->fd, (struct sockaddr *)&addr,
	    sizeof(addr)) != 0 || listen(srv->fd, 8) != 0 ||
	    getsockname(srv->fd, (struct sockaddr *)&addr, &alen) != 0)
		return -1;
	srv->port = ntohs(addr.sin_port);
	return pthread_create(&srv->thread, NULL, server_main, srv) == 0 ? 0 :
	    -1;
}

static void
zgt_jwks_server_set_body(zgt_jwks_server *srv, const char *body)
{
	pthread_mutex_lock(&srv->lock);
	snprintf(srv->body, sizeof(srv->body), "%s", body);
	pthread_mutex_unlock(&srv->lock);
}

static int
zgt_jwks_server_requests(zgt_jwks_server *srv)
{
	return atomic_load(&srv->requests);
}

static void
zgt_jwks_server_stop(zgt_jwks_server *srv)
{
	atomic_store(&srv->stop, true);
	pthread_join(srv->thread, NULL);
	close(srv->fd);
	pthread_mutex_destroy(&srv->lock);
}

/* Keys and a JWKS file shared by the tests, made once in setup. */
static struct {
	EVP_PKEY *rsa, *ec, *ed, *rsa_other;
	char dir[64];
	char jwks_path[128];
	zg_oidc *oidc;
} fx;

static char *
b64u(const uint8_t *in, size_t len)
{
	char *out = malloc(len * 4 / 3 + 4);
	zg_base64url_encode(in, len, out);
	return out;
}

static char *
b64u_str(const char *s)
{
	return b64u((const uint8_t *)s, strlen(s));
}

static char *
bn_b64u(EVP_PKEY *k, const char *name)
{
	BIGNUM *bn = NULL;
	assert_true(EVP_PKEY_get_bn_param(k, name, &bn));
	uint8_t buf[1024];
	int n = BN_bn2bin(bn, buf);
	BN_free(bn);
	return b64u(buf, (size_t)n);
}

/* Writes the public JWK of k; alg may be NULL. */
static void
jwk_text(EVP_PKEY *k, const char *kid, const char *alg, char *out, size_t sz)
{
	char extra[64] = "";
	if (alg != NULL)
		snprintf(extra, sizeof(extra), ",\"alg\":\"%s\"", alg);
	if (EVP_PKEY_is_a(k, "RSA")) {
		char *n = bn_b64u(k, OSSL_PKEY_PARAM_RSA_N);
		char *e = bn_b64u(k, OSSL_PKEY_PARAM_RSA_E);
		snprintf(out, sz, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":"
		    "\"sig\",\"n\":\"%s\",\"e\":\"%s\"%s}", kid, n, e, extra);
		free(n);
		free(e);
	} else if (EVP_PKEY_is_a(k, "EC")) {
		uint8_t pt[65];
		size_t len;
		assert_true(EVP_PKEY_get_octet_string_param(k,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len));
		assert_int_equal(len, 65);
		char *x = b64u(pt + 1, 32), *y = b64u(pt + 33, 32);
		snprintf(out, sz, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":"
		    "\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}", kid, x, y, extra);
		free(x);
		free(y);
	} else {
		uint8_t pub[32];
		size_t len = sizeof(pub);
		assert_true(EVP_PKEY_get_raw_public_key(k, pub, &len));
		char *x = b64u(pub, 32);
		snprintf(out, sz, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":"
		    "\"%s\",\"x\":\"%s\"%s}", kid, x, extra);
		free(x);
	}
}

static void
write_file(const char *path, const char *text)
{
	char tmp[320];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0);
}

/* The JWKS of the shared keys: rsa-1, ec-1, ed-1 and an HS256 "oct" key
 * that must be skipped. */
static void
jwks_text(char *out, size_t sz)
{
	char a[2048], b[512], c[256];
	jwk_text(fx.rsa, "rsa-1", NULL, a, sizeof(a));
	jwk_text(fx.ec, "ec-1", "ES256", b, sizeof(b));
	jwk_text(fx.ed, "ed-1", NULL, c, sizeof(c));
	snprintf(out, sz, "{\"keys\":[%s,%s,%s,{\"kty\":\"oct\",\"kid\":"
	    "\"hmac-1\",\"k\":\"c2VjcmV0\"}]}", a, b, c);
}

/* Signs input with k under alg and returns the base64url signature. */
static char *
sign_input(const char *alg, EVP_PKEY *k, const char *input)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t sig[1024];
	size_t len = sizeof(sig);
	bool ed = strcmp(alg, "EdDSA") == 0;
	assert_int_equal(EVP_DigestSignInit(md, &pctx, ed ? NULL :
	    EVP_sha256(), NULL, k), 1);
	if (strcmp(alg, "PS256") == 0) {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
	}
	assert_int_equal(EVP_DigestSign(md, sig, &len, (const uint8_t *)input,
	    strlen(input)), 1);
	EVP_MD_CTX_free(md);
	if (strcmp(alg, "ES256") == 0) {
		const uint8_t *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		uint8_t raw[64];
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32), 32);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32,
		    32), 32);
		ECDSA_SIG_free(es);
		return b64u(raw, 64);
	}
	return b64u(sig, len);
}

/* Builds header.payload.signature; the caller frees it. */
static char *
make_jws(const char *alg, EVP_PKEY *k, const char *header, const char *claims)
{
	char *h = b64u_str(header), *p = b64u_str(claims);
	char *input = malloc(strlen(h) + strlen(p) + 2);
	sprintf(input, "%s.%s", h, p);
	char *s = sign_input(alg, k, input);
	char *out = malloc(strlen(input) + strlen(s) + 2);
	sprintf(out, "%s.%s", input, s);
	free(h);
	free(p);
	free(s);
	free(input);
	return out;
}

static const char GOOD_CLAIMS[] =
    "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"user-7\","
    "\"exp\":1700000600,\"nbf\":1699999990,\"iat\":1699999990,"
    "\"roles\":[\"viewer\",\"workflow_manager\"],\"amr\":[\"pwd\",\"otp\"]}";

static char *
good_token(const char *alg, EVP_PKEY *k, const char *kid)
{
	char header[128];
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\"}",
	    alg, kid);
	return make_jws(alg, k, header, GOOD_CLAIMS);
}

static int
setup(void **state)
{
	char text[8192];
	zg_errmsg em = {0};
	fx.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	fx.rsa_other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	fx.ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	fx.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!fx.rsa || !fx.rsa_other || !fx.ec || !fx.ed)
		return -1;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/zg_test_jwt_XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	snprintf(fx.jwks_path, sizeof(fx.jwks_path), "%s/jwks.json", fx.dir);
	jwks_text(text, sizeof(text));
	write_file(fx.jwks_path, text);
	zg_oidc_config cfg = {.issuer = ISSUER, .audience = AUDIENCE,
	    .jwks_file = fx.jwks_path, .clock_skew_seconds = 30};
	if (zg_oidc_open(&cfg, &fx.oidc, &em) != ZG_OK) {
		fprintf(stderr, "zg_oidc_open: %s\n", em.text);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	zg_oidc_free(fx.oidc);
	EVP_PKEY_free(fx.rsa);
	EVP_PKEY_free(fx.rsa_other);
	EVP_PKEY_free(fx.ec);
	EVP_PKEY_free(fx.ed);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	return system(cmd) == 0 ? 0 : -1;
}

static zg_err
verify_at(const char *token, int64_t now, zg_identity *id, zg_errmsg *em)
{
	return zg_oidc_verify(fx.oidc, token, strlen(token), now, id, em);
}

/* Expects a 401 whose message contains want, and an empty identity. */
static void
expect_rejected(const char *token, const char *want)
{
	zg_identity id;
	zg_errmsg em = {0};
	assert_int_equal(verify_at(token, NOW, &id, &em),
	    ZG_ERR_UNAUTHENTICATED);
	if (strstr(em.text, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", em.text, want);
	assert_string_equal(id.user_id, "");
}

static void
expect_claims_rejected(const char *claims, const char *want)
{
	char *t = make_jws("ES256", fx.ec, "{\"alg\":\"ES256\",\"kid\":"
	    "\"ec-1\"}", claims);
	expect_rejected(t, want);
	free(t);
}

/* Verifies a known-answer token, then the same with one byte changed. */
static void
check_kat(const char *jws, const char *jwk, unsigned alg)
{
	zg_jwk key;
	zg_errmsg em = {0};
	uint8_t *payload = NULL;
	size_t len;
	assert_int_equal(zg_jwk_from_json(jwk, strlen(jwk), &key, &em), ZG_OK);
	assert_int_equal(zg_jws_verify(jws, strlen(jws), &key, alg, &payload,
	    &len, &em), ZG_OK);
	assert_non_null(payload);
	assert_true(len > 0);
	free(payload);

	char *bad = strdup(jws);
	char *p = strchr(bad, '.') + 3;
	*p = *p == 'A' ? 'B' : 'A';
	assert_int_equal(zg_jws_verify(bad, strlen(bad), &key, alg, &payload,
	    &len, &em), ZG_ERR_UNAUTHENTICATED);
	free(bad);
	zg_jwk_clear(&key);
}

static void
test_kat_rs256_rfc7515_a2(void **state)
{
	char jwk[1024];
	snprintf(jwk, sizeof(jwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":"
	    "\"AQAB\"}", RFC7515_A2_N);
	check_kat(RFC7515_A2_JWS, jwk, ZG_JWS_RS256);
}

static void
test_kat_es256_rfc7515_a3(void **state)
{
	check_kat(RFC7515_A3_JWS, RFC7515_A3_JWK, ZG_JWS_ES256);
}

static void
test_kat_eddsa_rfc8037_a4(void **state)
{
	zg_jwk key;
	uint8_t *payload = NULL;
	size_t len;
	check_kat(RFC8037_A4_JWS, RFC8037_A2_JWK, ZG_JWS_EDDSA);
	assert_int_equal(zg_jwk_from_json(RFC8037_A2_JWK,
	    strlen(RFC8037_A2_JWK), &key, NULL), ZG_OK);
	assert_int_equal(zg_jws_verify(RFC8037_A4_JWS, strlen(RFC8037_A4_JWS),
	    &key, ZG_JWS_EDDSA, &payload, &len, NULL), ZG_OK);
	assert_string_equal((char *)payload, "Example of Ed25519 signing");
	free(payload);
	zg_jwk_clear(&key);
}

static void
check_valid(const char *alg, EVP_PKEY *k, const char *kid)
{
	char *t = good_token(alg, k, kid);
	zg_identity id;
	zg_errmsg em = {0};
	if (verify_at(t, NOW, &id, &em) != ZG_OK)
		fail_msg("%s token rejected: %s", alg, em.text);
	assert_string_equal(id.user_id, "user-7");
	assert_string_equal(id.method, "oidc");
	assert_true(id.mfa);
	assert_int_equal(id.n_roles, 2);
	assert_string_equal(id.roles[0], "viewer");
	assert_string_equal(id.roles[1], "workflow_manager");
	assert_int_equal(id.expires_at, 1700000600);
	zg_identity_clear(&id);
	free(t);
}

static void
test_valid_rs256(void **state)
{
	check_valid("RS256", fx.rsa, "rsa-1");
}

static void
test_valid_ps256(void **state)
{
	check_valid("PS256", fx.rsa, "rsa-1");
}

static void
test_valid_es256(void **state)
{
	check_valid("ES256", fx.ec, "ec-1");
}

static void
test_valid_eddsa(void **state)
{
	check_valid("EdDSA", fx.ed, "ed-1");
}

static void
test_alg_none_rejected(void **state)
{
	char *h = b64u_str("{\"alg\":\"none\",\"kid\":\"rsa-1\"}");
	char *p = b64u_str(GOOD_CLAIMS);
	char t[2048];
	snprintf(t, sizeof(t), "%s.%s.AAAA", h, p);
	expect_rejected(t, "alg \"none\"");
	free(h);
	free(p);
}

/* The classic key-confusion forgery: HMAC under the RSA public key. */
static void
test_hs256_with_public_key(void **state)
{
	BIO *bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PUBKEY(bio, fx.rsa), 1);
	char *pem;
	long pem_len = BIO_get_mem_data(bio, &pem);
	char *h = b64u_str("{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}");
	char *p = b64u_str(GOOD_CLAIMS);
	char input[2048], t[2200];
	snprintf(input, sizeof(input), "%s.%s", h, p);
	uint8_t mac[32];
	unsigned mac_len = 0;
	assert_non_null(HMAC(EVP_sha256(), pem, (int)pem_len,
	    (const uint8_t *)input, strlen(input), mac, &mac_len));
	char *s = b64u(mac, mac_len);
	snprintf(t, sizeof(t), "%s.%s", input, s);
	expect_rejected(t, "HMAC tokens");
	free(h);
	free(p);
	free(s);
	BIO_free(bio);
}

static void
test_hmac_kid_never_selected(void **state)
{
	char *t = good_token("RS256", fx.rsa, "hmac-1");
	expect_rejected(t, "no key with kid");
	free(t);
}

static void
test_alg_key_type_mismatch(void **state)
{
	/* An RS256 token that names the EC key. */
	char *t = make_jws("RS256", fx.rsa, "{\"alg\":\"RS256\",\"kid\":"
	    "\"ec-1\"}", GOOD_CLAIMS);
	expect_rejected(t, "needs an RSA key");
	free(t);
}

static void
test_alg_not_allowed(void **state)
{
	zg_oidc_config cfg = {.issuer = ISSUER, .audience = AUDIENCE,
	    .jwks_file = fx.jwks_path, .algorithms = "ES256"};
	zg_oidc *o = NULL;
	zg_identity id;
	zg_errmsg em = {0};
	assert_int_equal(zg_oidc_open(&cfg, &o, &em), ZG_OK);
	char *t = good_token("RS256", fx.rsa, "rsa-1");
	assert_int_equal(zg_oidc_verify(o, t, strlen(t), NOW, &id, &em),
	    ZG_ERR_UNAUTHENTICATED);
	assert_non_null(strstr(em.text, "not on the allowed list"));
	free(t);
	zg_oidc_free(o);
}

static void
test_unknown_alg_rejected(void **state)
{
	char *h = b64u_str("{\"alg\":\"RS512\",\"kid\":\"rsa-1\"}");
	char *p = b64u_str(GOOD_CLAIMS);
	char t[2048];
	snprintf(t, sizeof(t), "%s.%s.AAAA", h, p);
	expect_rejected(t, "not on the allowed list");
	free(h);
	free(p);
}

static void
test_jwk_alg_differs(void **state)
{
	/* ec-1 is published with "alg":"ES256"; PS256 can't use it anyway,
	 * so check the member with a key of the right type instead. */
	char jwk[512];
	zg_jwk key;
	uint8_t *payload = NULL;
	size_t len;
	zg_errmsg em = {0};
	jwk_text(fx.rsa, "r", "PS256", jwk, sizeof(jwk));
	assert_int_equal(zg_jwk_from_json(jwk, strlen(jwk), &key, &em), ZG_OK);
	char *t = good_token("RS256", fx.rsa, "r");
	assert_int_equal(zg_jws_verify(t, strlen(t), &key, ZG_JWS_ALL,
	    &payload, &len, &em), ZG_ERR_UNAUTHENTICATED);
	assert_non_null(strstr(em.text, "differs from the key's alg"));
	free(t);
	zg_jwk_clear(&key);
}

static void
test_unknown_kid(void **state)
{
	char *t = good_token("RS256", fx.rsa, "rsa-2");
	expect_rejected(t, "no key with kid \"rsa-2\"");
	free(t);
}

static void
test_missing_kid_several_keys(void **state)
{
	char *t = make_jws("RS256", fx.rsa, "{\"alg\":\"RS256\"}", GOOD_CLAIMS);
	expect_rejected(t, "has no kid");
	free(t);
}

static void
test_wrong_key_signature(void **state)
{
	char *t = good_token("RS256", fx.rsa_other, "rsa-1");
	expect_rejected(t, "signature is invalid");
	free(t);
}

static void
test_ps256_as_rs256_rejected(void **state)
{
	char *t = good_token("PS256", fx.rsa, "rsa-1");
	/* Swap the header for an RS256 one over the same PSS signature. */
	char *h = b64u_str("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}");
	char *rest = strchr(t, '.');
	char *swapped = malloc(strlen(h) + strlen(rest) + 1);
	sprintf(swapped, "%s%s", h, rest);
	expect_rejected(swapped, "signature is invalid");
	free(swapped);
	free(h);
	free(t);
}

static void
test_es256_der_rejected(void **state)
{
	char *h = b64u_str("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}");
	char *p = b64u_str(GOOD_CLAIMS);
	char input[2048], t[2300];
	snprintf(input, sizeof(input), "%s.%s", h, p);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80];
	size_t len = sizeof(der);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
	    fx.ec), 1);
	assert_int_equal(EVP_DigestSign(md, der, &len, (uint8_t *)input,
	    strlen(input)), 1);
	EVP_MD_CTX_free(md);
	char *s = b64u(der, len);
	snprintf(t, sizeof(t), "%s.%s", input, s);
	expect_rejected(t, "ES256 needs 64");
	free(h);
	free(p);
	free(s);
}

static void
test_expired(void **state)
{
	char *t = good_token("ES256", fx.ec, "ec-1");
	zg_identity id;
	zg_errmsg em = {0};
	assert_int_equal(verify_at(t, 1700000600 + 30, &id, &em), ZG_OK);
	zg_identity_clear(&id);
	assert_int_equal(verify_at(t, 1700000600 + 31, &id, &em),
	    ZG_ERR_UNAUTHENTICATED);
	assert_non_null(strstr(em.text, "expired"));
	free(t);
}

static void
test_not_yet_valid(void **state)
{
	char *t = good_token("ES256", fx.ec, "ec-1");
	zg_identity id;
	zg_errmsg em = {0};
	assert_int_equal(verify_at(t, 1699999990 - 30, &id, &em), ZG_OK);
	zg_identity_clear(&id);
	/* At 1699999959 nbf and iat are both 31 s ahead; nbf is checked
	 * first. */
	assert_int_equal(verify_at(t, 1699999990 - 31, &id, &em),
	    ZG_ERR_UNAUTHENTICATED);
	assert_non_null(strstr(em.text, "(nbf)"));
	free(t);
}

static void
test_iat_in_future(void **state)
{
	expect_claims_rejected("{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
	    "\",\"sub\":\"u\",\"exp\":1700000600,\"iat\":1700000100}", "(iat)");
}

static void
test_exp_missing(void **state)
{
	expect_claims_rejected("{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
	    "\",\"sub\":\"u\"}", "no valid \"exp\"");
}

static void
test_wrong_issuer(void **state)
{
	expect_claims_rejected("{\"iss\":\"https://other.test\",\"aud\":\""
	    AUDIENCE "\",\"sub\":\"u\",\"exp\":1700000600}", "\"iss\"");
}

static void
test_wrong_audience(void **state)
{
	expect_claims_rejected("{\"iss\":\"" ISSUER "\",\"aud\":[\"a\",\"b\"],"
	    "\"sub\":\"u\",\"exp\":1700000600}", "\"aud\"");
}

static void
test_audience_array_accepted(void **state)
{
	char *t = make_jws("ES256", fx.ec, "{\"alg\":\"ES256\",\"kid\":"
	    "\"ec-1\"}", "{\"iss\":\"" ISSUER "\",\"aud\":[\"a\",\"" AUDIENCE
	    "\"],\"sub\":\"u\",\"exp\":1700000600,\"amr\":[\"pwd\"]}");
	zg_identity id;
	assert_int_equal(verify_at(t, NOW, &id, NULL), ZG_OK);
	assert_false(id.mfa);
	assert_int_equal(id.n_roles, 0);
	assert_null(id.roles);
	zg_identity_clear(&id);
	free(t);
}

static void
test_bad_roles_claim(void **state)
{
	expect_claims_rejected("{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
	    "\",\"sub\":\"u\",\"exp\":1700000600,\"roles\":\"admin\"}",
	    "not an array of strings");
	expect_claims_rejected("{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
	    "\",\"sub\":\"u\",\"exp\":1700000600,\"roles\":[\"a\",7]}",
	    "each role");
}

static void
test_custom_claims_nested(void **state)
{
	zg_oidc_config cfg = {.issuer = ISSUER, .audience = AUDIENCE,
	    .jwks_file = fx.jwks_path, .user_claim = "email",
	    .roles_claim = "realm_access.roles"};
	zg_oidc *o = NULL;
	zg_identity id;
	zg_errmsg em = {0};
	assert_int_equal(zg_oidc_open(&cfg, &o, &em), ZG_OK);
	char *t = make_jws("EdDSA", fx.ed, "{\"alg\":\"EdDSA\",\"kid\":"
	    "\"ed-1\"}", "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\","
	    "\"email\":\"a@example.test\",\"exp\":1700000600,"
	    "\"realm_access\":{\"roles\":[\"admin\"]}}");
	if (zg_oidc_verify(o, t, strlen(t), NOW, &id, &em) != ZG_OK)
		fail_msg("rejected: %s", em.text);
	assert_string_equal(id.user_id, "a@example.test");
	assert_int_equal(id.n_roles, 1);
	assert_string_equal(id.roles[0], "admin");
	zg_identity_clear(&id);
	free(t);
	zg_oidc_free(o);
}

static void
test_user_claim_missing(void **state)
{
	expect_claims_rejected("{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
	    "\",\"exp\":1700000600}", "user claim");
}

static void
test_duplicate_claim_rejected(void **state)
{
	expect_claims_rejected("{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
	    "\",\"sub\":\"u\",\"sub\":\"admin\",\"exp\":1700000600}",
	    "duplicate");
}

static void
test_crit_header_rejected(void **state)
{
	char *t = make_jws("ES256", fx.ec, "{\"alg\":\"ES256\",\"kid\":"
	    "\"ec-1\",\"crit\":[\"exp\"],\"exp\":1}", GOOD_CLAIMS);
	expect_rejected(t, "crit");
	free(t);
}

/* Inserts text at offset pos of a valid token and expects a rejection. */
static void
expect_mangled(size_t pos, const char *text, const char *want)
{
	char *t = good_token("ES256", fx.ec, "ec-1");
	char *m = malloc(strlen(t) + strlen(text) + 1);
	memcpy(m, t, pos);
	strcpy(m + pos, text);
	strcat(m, t + pos);
	expect_rejected(m, want);
	free(m);
	free(t);
}

static void
test_malformed_base64url(void **state)
{
	char *t = good_token("ES256", fx.ec, "ec-1");
	size_t dot1 = (size_t)(strchr(t, '.') - t);
	size_t dot2 = (size_t)(strrchr(t, '.') - t);
	size_t end = strlen(t);
	free(t);
	expect_mangled(dot1, "=", "header is not valid");
	expect_mangled(dot2, "==", "payload is not valid");
	expect_mangled(end, "=", "signature");
	expect_mangled(5, "+", "header is not valid");
	expect_mangled(dot1 + 4, "/", "payload is not valid");
	expect_mangled(dot1 + 4, " ", "payload is not valid");
	expect_mangled(dot1 + 4, "\n", "payload is not valid");
	expect_mangled(end, ".AAAA", "more than three segments");
	expect_mangled(dot1, ".", "more than three segments");
}

static void
test_not_three_segments(void **state)
{
	expect_rejected("", "three non-empty");
	expect_rejected("abc", "three non-empty");
	expect_rejected("a.b", "three non-empty");
	expect_rejected("a.b.", "three non-empty");
	expect_rejected("a..c", "three non-empty");
}

static void
test_token_over_16k(void **state)
{
	size_t n = ZG_JWT_MAX_LEN + 1;
	char *t = malloc(n + 1);
	memset(t, 'A', n);
	t[n] = '\0';
	expect_rejected(t, "longer than 16384");
	free(t);
}

static void
test_base64url_strict(void **state)
{
	uint8_t out[16];
	size_t n;
	assert_int_equal(zg_base64url_decode("_-8", 3, out, sizeof(out), &n),
	    ZG_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 0xff);
	assert_int_equal(out[1], 0xef);
	/* "_-9" has nonzero unused bits, so it is not a canonical encoding. */
	assert_int_equal(zg_base64url_decode("_-9", 3, out, sizeof(out), &n),
	    ZG_ERR_INVALID);
	assert_int_equal(zg_base64url_decode("A", 1, out, sizeof(out), &n),
	    ZG_ERR_INVALID);
	assert_int_equal(zg_base64url_decode("AA==", 4, out, sizeof(out), &n),
	    ZG_ERR_INVALID);
	assert_int_equal(zg_base64url_decode("AAAAAAAA", 8, out, 5, &n),
	    ZG_ERR_INVALID);
}

static void
test_jwks_file_reload(void **state)
{
	char dir_jwks[256], jwk[512], text[600];
	zg_jwks *ks = NULL;
	zg_jwk key;
	zg_errmsg em = {0};
	snprintf(dir_jwks, sizeof(dir_jwks), "%s/reload.json", fx.dir);
	jwk_text(fx.ed, "first", NULL, jwk, sizeof(jwk));
	snprintf(text, sizeof(text), "{\"keys\":[%s]}", jwk);
	write_file(dir_jwks, text);
	assert_int_equal(zg_jwks_open_file(dir_jwks, &ks, &em), ZG_OK);
	assert_int_equal(zg_jwks_find(ks, "first", NOW, &key, &em), ZG_OK);
	zg_jwk_clear(&key);
	/* With one key, a token without kid selects it. */
	assert_int_equal(zg_jwks_find(ks, NULL, NOW, &key, &em), ZG_OK);
	zg_jwk_clear(&key);
	assert_int_equal(zg_jwks_find(ks, "second", NOW, &key, &em),
	    ZG_ERR_UNAUTHENTICATED);

	jwk_text(fx.ed, "second", NULL, jwk, sizeof(jwk));
	snprintf(text, sizeof(text), "{\"keys\":[%s]}", jwk);
	write_file(dir_jwks, text);
	assert_int_equal(zg_jwks_find(ks, "second", NOW, &key, &em), ZG_OK);
	zg_jwk_clear(&key);
	assert_int_equal(zg_jwks_load_count(ks), 2);

	/* A broken file keeps the last good set. */
	write_file(dir_jwks, "{\"keys\":[");
	assert_int_equal(zg_jwks_find(ks, "second", NOW, &key, &em), ZG_OK);
	zg_jwk_clear(&key);
	zg_jwks_free(ks);
}

static void
test_jwks_file_bad_sets(void **state)
{
	static const char *const sets[] = {
		"not json",
		"{\"keys\":{}}",
		"{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\","
		    "\"y\":\"AAAA\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
	};
	char path[256];
	snprintf(path, sizeof(path), "%s/bad.json", fx.dir);
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		zg_jwks *ks = NULL;
		zg_errmsg em = {0};
		write_file(path, sets[i]);
		assert_int_not_equal(zg_jwks_open_file(path, &ks, &em), ZG_OK);
		assert_null(ks);
	}
}

static void
test_jwk_point_off_curve(void **state)
{
	/* The RFC 7515 A.3 x with y changed in its last character. */
	const char *jwk = "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4\"}";
	zg_jwk key;
	assert_int_equal(zg_jwk_from_json(jwk, strlen(jwk), &key, NULL),
	    ZG_ERR_INVALID);
}

static void
test_jwks_url_cache_and_refetch(void **state)
{
	char text[8192], url[128];
	zgt_jwks_server srv;
	zg_jwks *ks = NULL;
	zg_jwk key;
	zg_errmsg em = {0};

	jwks_text(text, sizeof(text));
	assert_int_equal(zgt_jwks_server_start(&srv, text, "max-age=60"), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/jwks.json", srv.port);
	assert_int_equal(zg_jwks_open_url(url, NULL, &ks, &em), ZG_OK);
	assert_int_equal(zgt_jwks_server_requests(&srv), 0);

	if (zg_jwks_find(ks, "rsa-1", NOW, &key, &em) != ZG_OK)
		fail_msg("find: %s", em.text);
	zg_jwk_clear(&key);
	assert_int_equal(zgt_jwks_server_requests(&srv), 1);

	/* Cached for max-age 60. */
	assert_int_equal(zg_jwks_find(ks, "ec-1", NOW + 59, &key, &em), ZG_OK);
	zg_jwk_clear(&key);
	assert_int_equal(zgt_jwks_server_requests(&srv), 1);
	assert_int_equal(zg_jwks_find(ks, "ec-1", NOW + 60, &key, &em), ZG_OK);
	zg_jwk_clear(&key);
	assert_int_equal(zgt_jwks_server_requests(&srv), 2);

	/* An unknown kid refetches at most once per 30 s. */
	assert_int_equal(zg_jwks_find(ks, "new", NOW + 61, &key, &em),
	    ZG_ERR_UNAUTHENTICATED);
	assert_int_equal(zgt_jwks_server_requests(&srv), 3);
	assert_int_equal(zg_jwks_find(ks, "new", NOW + 62, &key, &em),
	    ZG_ERR_UNAUTHENTICATED);
	assert_int_equal(zgt_jwks_server_requests(&srv), 3);

	/* The issuer rotates in a key; 30 s later it is found. */
	char a[512];
	jwk_text(fx.ec, "new", NULL, a, sizeof(a));
	snprintf(text, sizeof(text), "{\"keys\":[%s]}", a);
	zgt_jwks_server_set_body(&srv, text);
	assert_int_equal(zg_jwks_find(ks, "new", NOW + 91, &key, &em), ZG_OK);
	zg_jwk_clear(&key);
	assert_int_equal(zgt_jwks_server_requests(&srv), 4);

	zg_jwks_free(ks);
	zgt_jwks_server_stop(&srv);
}

static void
test_jwks_url_failures(void **state)
{
	char url[128];
	zgt_jwks_server srv;
	zg_jwks *ks = NULL;
	zg_jwk key;
	zg_errmsg em = {0};
	zg_jwks_options opts = {.max_bytes = 64};

	assert_int_equal(zgt_jwks_server_start(&srv, "{\"keys\":[]}", NULL),
	    0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/jwks.json", srv.port);
	assert_int_equal(zg_jwks_open_url(url, &opts, &ks, &em), ZG_OK);
	assert_int_equal(zg_jwks_find(ks, "k", NOW, &key, &em), ZG_ERR_UPSTREAM);
	zg_jwks_free(ks);

	/* A body above max_bytes is cut off. */
	char big[256];
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	zgt_jwks_server_set_body(&srv, big);
	assert_int_equal(zg_jwks_open_url(url, &opts, &ks, &em), ZG_OK);
	assert_int_equal(zg_jwks_find(ks, "k", NOW, &key, &em), ZG_ERR_UPSTREAM);
	zg_jwks_free(ks);
	zgt_jwks_server_stop(&srv);

	assert_int_equal(zg_jwks_open_url("file:///etc/passwd", NULL, &ks,
	    &em), ZG_ERR_CONFIG);
}

static void
test_config_errors(void **state)
{
	static const zg_oidc_config bad[] = {
		{.audience = AUDIENCE, .jwks_file = "x"},
		{.issuer = ISSUER, .jwks_file = "x"},
		{.issuer = ISSUER, .audience = AUDIENCE},
		{.issuer = ISSUER, .audience = AUDIENCE, .jwks_file = "x",
		    .jwks_url = "http://127.0.0.1:1/"},
		{.issuer = ISSUER, .audience = AUDIENCE, .jwks_file = "x",
		    .clock_skew_seconds = 601},
		{.issuer = ISSUER, .audience = AUDIENCE,
		    .jwks_url = "http://127.0.0.1:1/", .algorithms = "RS256,HS256"},
		{.issuer = ISSUER, .audience = AUDIENCE,
		    .jwks_url = "http://127.0.0.1:1/", .algorithms = "none"},
		{.issuer = ISSUER, .audience = AUDIENCE,
		    .jwks_url = "http://127.0.0.1:1/", .algorithms = " , "},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		zg_oidc *o = NULL;
		zg_errmsg em = {0};
		assert_int_equal(zg_oidc_open(&bad[i], &o, &em), ZG_ERR_CONFIG);
		assert_null(o);
	}
}

static void
test_parse_algorithms(void **state)
{
	unsigned mask = 0;
	assert_int_equal(zg_jws_parse_algorithms("EdDSA, ES256", &mask, NULL),
	    ZG_OK);
	assert_int_equal(mask, ZG_JWS_EDDSA | ZG_JWS_ES256);
}

int
main(void)
{
	/* Nothing here may go through a proxy: the only server is local. */
	setenv("NO_PROXY", "*", 1);
	setenv("no_proxy", "*", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_rs256_rfc7515_a2),
		cmocka_unit_test(test_kat_es256_rfc7515_a3),
		cmocka_unit_test(test_kat_eddsa_rfc8037_a4),
		cmocka_unit_test(test_valid_rs256),
		cmocka_unit_test(test_valid_ps256),
		cmocka_unit_test(test_valid_es256),
		cmocka_unit_test(test_valid_eddsa),
		cmocka_unit_test(test_alg_none_rejected),
		cmocka_unit_test(test_hs256_with_public_key),
		cmocka_unit_test(test_hmac_kid_never_selected),
		cmocka_unit_test(test_alg_key_type_mismatch),
		cmocka_unit_test(test_alg_not_allowed),
		cmocka_unit_test(test_unknown_alg_rejected),
		cmocka_unit_test(test_jwk_alg_differs),
		cmocka_unit_test(test_unknown_kid),
		cmocka_unit_test(test_missing_kid_several_keys),
		cmocka_unit_test(test_wrong_key_signature),
		cmocka_unit_test(test_ps256_as_rs256_rejected),
		cmocka_unit_test(test_es256_der_rejected),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_iat_in_future),
		cmocka_unit_test(test_exp_missing),
		cmocka_unit_test(test_wrong_issuer),
		cmocka_unit_test(test_wrong_audience),
		cmocka_unit_test(test_audience_array_accepted),
		cmocka_unit_test(test_bad_roles_claim),
		cmocka_unit_test(test_custom_claims_nested),
		cmocka_unit_test(test_user_claim_missing),
		cmocka_unit_test(test_duplicate_claim_rejected),
		cmocka_unit_test(test_crit_header_rejected),
		cmocka_unit_test(test_malformed_base64url),
		cmocka_unit_test(test_not_three_segments),
		cmocka_unit_test(test_token_over_16k),
		cmocka_unit_test(test_base64url_strict),
		cmocka_unit_test(test_jwks_file_reload),
		cmocka_unit_test(test_jwks_file_bad_sets),
		cmocka_unit_test(test_jwk_point_off_curve),
		cmocka_unit_test(test_jwks_url_cache_and_refetch),
		cmocka_unit_test(test_jwks_url_failures),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_parse_algorithms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
