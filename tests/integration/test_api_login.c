/*
 * Logins over HTTP with OIDC JWTs and Magic DID tokens, and the lockout
 * after repeated failures.
 *
 * One daemon, with [oidc] reading a JWKS file that this test writes and
 * [magic] set, serves every test but the lockout one, which starts its
 * own daemon with a low threshold. The RSA, EC P-256 and Ed25519 keys
 * are generated with OpenSSL at run time. DID tokens come from
 * tests/js/make_did.js (ethers), and those tests are skipped without node.
 *
 * JWTs can be longer than the 256 bytes that zgtest.c allows for an
 * Authorization header, so requests with one go through bearer_request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "authn/jwt.h"
#include "base/codec.h"
#include "zgtest.h"

#define ISSUER "https://issuer.zguard.test"
#define AUDIENCE "zguard-api"
#define MAGIC_CLIENT "zguard-magic-client"

static zgt_daemon srv;
static struct {
	EVP_PKEY *rsa, *ec, *ed;
	char jwks_path[400];
	char oidc_ini[1024];
	char did_script[400];   /* tests/js/make_did.js */
	bool node;              /* true when node runs and did_script exists */
} fx;

/* Returns len bytes as base64url without padding. The caller frees it. */
static char *
b64u(const void *in, size_t len)
{
	char *out = malloc((4 * len + 2) / 3 + 1);
	assert_non_null(out);
	zg_base64url_encode(in, len, out);
	return out;
}

/* The big-endian bytes of a key parameter, base64url encoded. */
static char *
param_b64u(EVP_PKEY *k, const char *name)
{
	BIGNUM *bn = NULL;
	uint8_t buf[512];
	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	int n = BN_bn2bin(bn, buf);
	BN_free(bn);
	return b64u(buf, (size_t)n);
}

/* Appends the public JWK of k under kid to keys. */
static void
add_jwk(json_t *keys, EVP_PKEY *k, const char *kid)
{
	json_t *jwk;
	if (EVP_PKEY_is_a(k, "RSA")) {
		char *n = param_b64u(k, OSSL_PKEY_PARAM_RSA_N);
		char *e = param_b64u(k, OSSL_PKEY_PARAM_RSA_E);
		jwk = json_pack("{s:s,s:s,s:s,s:s}", "kty", "RSA", "kid", kid,
		    "n", n, "e", e);
		free(n);
		free(e);
	} else if (EVP_PKEY_is_a(k, "EC")) {
		uint8_t point[65];
		size_t len;
		assert_int_equal(EVP_PKEY_get_octet_string_param(k,
		    OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &len), 1);
		assert_int_equal(len, 65);
		char *x = b64u(point + 1, 32), *y = b64u(point + 33, 32);
		jwk = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv",
		    "P-256", "kid", kid, "x", x, "y", y);
		free(x);
		free(y);
	} else {
		uint8_t pub[32];
		size_t len = sizeof(pub);
		assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &len), 1);
		char *x = b64u(pub, len);
		jwk = json_pack("{s:s,s:s,s:s,s:s}", "kty", "OKP", "crv",
		    "Ed25519", "kid", kid, "x", x);
		free(x);
	}
	assert_non_null(jwk);
	json_array_append_new(keys, jwk);
}

/* Writes the JWKS of the current keys by renaming a new file over it. */
static void
write_jwks(void)
{
	char tmp[420];
	json_t *keys = json_array();
	add_jwk(keys, fx.rsa, "rsa-1");
	add_jwk(keys, fx.ec, "ec-1");
	add_jwk(keys, fx.ed, "ed-1");
	json_t *set = json_pack("{s:o}", "keys", keys);
	snprintf(tmp, sizeof(tmp), "%s.new", fx.jwks_path);
	assert_int_equal(json_dump_file(set, tmp, JSON_COMPACT), 0);
	assert_int_equal(rename(tmp, fx.jwks_path), 0);
	json_decref(set);
}

/* Signs input with k under JWS alg and returns the base64url signature. */
static char *
jws_sign(const char *alg, EVP_PKEY *k, const char *input)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool eddsa = strcmp(alg, "EdDSA") == 0;
	uint8_t sig[1024];
	size_t len = sizeof(sig);

	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, &pctx, eddsa ? NULL :
	    EVP_sha256(), NULL, k), 1);
	if (strcmp(alg, "PS256") == 0) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32), 1);
	}
	assert_int_equal(EVP_DigestSign(md, sig, &len, (const uint8_t *)input,
	    strlen(input)), 1);
	EVP_MD_CTX_free(md);
	if (strcmp(alg, "ES256") != 0)
		return b64u(sig, len);

	/* JWS wants the raw r || s of RFC 7518 section 3.4, not DER. */
	const uint8_t *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	uint8_t raw[64];
	assert_non_null(es);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32), 32);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32), 32);
	ECDSA_SIG_free(es);
	return b64u(raw, sizeof(raw));
}

/* Builds header.payload.signature from JSON texts. The caller frees it.
 * A NULL key leaves the signature empty, as in an unsecured JWS. */
static char *
jws_make(const char *alg, EVP_PKEY *k, const char *header, const char *claims)
{
	char *h = b64u(header, strlen(header));
	char *c = b64u(claims, strlen(claims));
	size_t n = strlen(h) + strlen(c) + 2;
	char *input = malloc(n);
	assert_non_null(input);
	snprintf(input, n, "%s.%s", h, c);
	char *s = k != NULL ? jws_sign(alg, k, input) : strdup("");
	char *out = malloc(n + strlen(s) + 1);
	assert_non_null(out);
	sprintf(out, "%s.%s", input, s);
	free(h);
	free(c);
	free(s);
	free(input);
	return out;
}

/*
 * Returns the claims of a login for sub as JSON text (free it). roles and
 * amr are JSON arrays or NULL. exp_in and nbf_in are offsets from now in
 * seconds.
 */
static char *
claims_text(const char *sub, const char *roles, const char *amr,
    long exp_in, long nbf_in)
{
	long now = (long)time(NULL);
	json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "iss", ISSUER,
	    "aud", AUDIENCE, "sub", sub, "exp", (json_int_t)(now + exp_in),
	    "nbf", (json_int_t)(now + nbf_in), "iat", (json_int_t)now);
	if (roles != NULL)
		json_object_set_new(c, "roles", json_loads(roles, 0, NULL));
	if (amr != NULL)
		json_object_set_new(c, "amr", json_loads(amr, 0, NULL));
	char *text = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	assert_non_null(text);
	return text;
}

/* A valid token for sub signed with k under alg and kid. */
static char *
login_jwt(const char *alg, EVP_PKEY *k, const char *kid, const char *sub,
    const char *roles, const char *amr)
{
	char header[128];
	char *claims = claims_text(sub, roles, amr, 600, -10);
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\","
	    "\"typ\":\"JWT\"}", alg, kid);
	char *t = jws_make(alg, k, header, claims);
	free(claims);
	return t;
}

struct sink {
	zgt_resp *resp;
	long *retry_after;
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	char *p = realloc(s->resp->body, s->resp->body_len + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + s->resp->body_len, ptr, n);
	s->resp->body_len += n;
	p[s->resp->body_len] = '\0';
	s->resp->body = p;
	return n;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	char line[256];
	size_t m = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
	memcpy(line, ptr, m);
	line[m] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncasecmp(line, "X-Request-Id: ", 14) == 0)
		snprintf(s->resp->request_id, sizeof(s->resp->request_id),
		    "%.63s", line + 14);
	if (strncasecmp(line, "Retry-After: ", 13) == 0)
		*s->retry_after = strtol(line + 13, NULL, 10);
	return n;
}

/*
 * Sends a request to d with "Authorization: Bearer credential" of any
 * length. *retry_after receives the Retry-After header, or -1 without
 * one. The caller frees *out with zgt_resp_free.
 */
static void
bearer_request(const zgt_daemon *d, const char *method, const char *path,
    const char *credential, zgt_resp *out, long *retry_after)
{
	char url[512];
	struct sink s = {out, retry_after};
	size_t n = strlen(credential) + 32;
	char *auth = malloc(n);
	CURL *h = curl_easy_init();

	memset(out, 0, sizeof(*out));
	*retry_after = -1;
	assert_non_null(auth);
	assert_non_null(h);
	snprintf(auth, n, "Authorization: Bearer %s", credential);
	struct curl_slist *hdrs = curl_slist_append(NULL, auth);
	snprintf(url, sizeof(url), "%s%s", d->base_url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{\"type\":\"api_token\","
		    "\"name\":\"login-check\",\"value\":\"v\"}");
	CURLcode rc = curl_easy_perform(h);
	curl_slist_free_all(hdrs);
	free(auth);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_cleanup(h);
	if (out->body != NULL)
		out->json = json_loads(out->body, 0, NULL);
}

/* Sends GET path on srv with credential and checks the status. */
static void
expect_login(const char *path, const char *credential, long status)
{
	zgt_resp r;
	long ra;
	bearer_request(&srv, "GET", path, credential, &r, &ra);
	if (r.status != status)
		fprintf(stderr, "GET %s: expected %ld, got %ld %s\n", path,
		    status, r.status, r.body ? r.body : "");
	assert_int_equal(r.status, status);
	zgt_resp_free(&r);
}

/* Returns the audit event (a new reference) of request rid on d. */
static json_t *
audit_event(const zgt_daemon *d, const char *rid)
{
	uint64_t from = 0;
	for (;;) {
		char path[128];
		zgt_resp r;
		snprintf(path, sizeof(path), "/v1/audit/events?from=%llu&"
		    "limit=1000", (unsigned long long)from);
		assert_int_equal(zgt_http(d, "GET", path, d->token, NULL, &r), 0);
		assert_int_equal(r.status, 200);
		size_t i;
		json_t *item, *found = NULL;
		json_array_foreach(json_object_get(r.json, "events"), i, item) {
			json_t *ev = json_object_get(item, "event");
			const char *id = json_string_value(json_object_get(ev,
			    "requestId"));
			if (found == NULL && id != NULL && strcmp(id, rid) == 0)
				found = json_incref(ev);
		}
		json_t *next = json_object_get(r.json, "next");
		bool more = found == NULL && json_is_integer(next);
		if (more)
			from = (uint64_t)json_integer_value(next);
		zgt_resp_free(&r);
		if (!more)
			return found;
	}
}

/* Checks that request rid on d left a failed "authentication" event. */
static void
expect_failure_event(const zgt_daemon *d, const char *rid)
{
	json_t *ev = audit_event(d, rid);
	if (ev == NULL)
		fail_msg("no audit event for request %s", rid);
	assert_string_equal(json_string_value(json_object_get(ev, "eventType")),
	    "authentication");
	assert_true(json_is_false(json_object_get(ev, "success")));
	json_decref(ev);
}

/* Expects 401 for credential, a message containing needle, and the
 * failure in the audit log. */
static void
expect_rejected(const char *credential, const char *needle)
{
	zgt_resp r;
	long ra;
	char rid[64];
	bearer_request(&srv, "GET", "/v1/credentials", credential, &r, &ra);
	if (r.status != 401)
		fprintf(stderr, "expected 401, got %ld %s\n", r.status,
		    r.body ? r.body : "");
	assert_int_equal(r.status, 401);
	const char *msg = json_string_value(json_object_get(json_object_get(
	    r.json, "error"), "message"));
	assert_non_null(msg);
	if (strstr(msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	zgt_resp_free(&r);
	expect_failure_event(&srv, rid);
}

static int
group_setup(void **state)
{
	zgt_seed("test_api_login");
	fx.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	fx.ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	fx.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (fx.rsa == NULL || fx.ec == NULL || fx.ed == NULL)
		return -1;
	const char *src = getenv("ZGUARD_SOURCE_DIR");
	snprintf(fx.did_script, sizeof(fx.did_script), "%s/tests/js/make_did.js",
	    src ? src : ".");
	fx.node = system("node --version > /dev/null 2>&1") == 0 &&
	    access(fx.did_script, R_OK) == 0;
	if (!fx.node)
		fprintf(stderr, "node or %s is missing; the DID tests are "
		    "skipped\n", fx.did_script);
	if (zgt_daemon_prepare(&srv, NULL) != 0)
		return -1;
	snprintf(fx.jwks_path, sizeof(fx.jwks_path), "%s/jwks.json", srv.root);
	write_jwks();
	/* No failure in this daemon may lock 127.0.0.1 out. */
	snprintf(fx.oidc_ini, sizeof(fx.oidc_ini), "[oidc]\nissuer = %s\n"
	    "audience = %s\njwks_file = %s\n[magic]\nclient_id = %s\n",
	    ISSUER, AUDIENCE, fx.jwks_path, MAGIC_CLIENT);
	snprintf(srv.extra_ini, sizeof(srv.extra_ini), "%s[lockout]\n"
	    "threshold = 1000000\n", fx.oidc_ini);
	return zgt_daemon_launch(&srv);
}

static int
group_teardown(void **state)
{
	int rc = 0;
	zgt_daemon_stop(&srv);
	if (zgt_log_has_sanitizer_report(&srv)) {
		fprintf(stderr, "the daemon log has a sanitizer report: %s\n",
		    srv.log_path);
		rc = -1;
	} else {
		zgt_daemon_cleanup(&srv);
	}
	EVP_PKEY_free(fx.rsa);
	EVP_PKEY_free(fx.ec);
	EVP_PKEY_free(fx.ed);
	zgt_http_thread_done();
	return rc;
}

/*
 * Creates a credential with token and checks that sub owns it. A JWT's sub
 * gets the default [oidc] user_prefix "oidc:", which keeps IdP subjects
 * apart from local users, and a DID token's issuer is used as it is.
 */
static void
check_owner(const char *token, const char *sub)
{
	zgt_resp r;
	long ra;
	bearer_request(&srv, "POST", "/v1/credentials", token, &r, &ra);
	if (r.status != 201)
		fprintf(stderr, "create as %s: %ld %s\n", sub, r.status,
		    r.body ? r.body : "");
	assert_int_equal(r.status, 201);
	char want[160];
	snprintf(want, sizeof(want), "%s%s", strncmp(sub, "did:", 4) == 0 ?
	    "" : "oidc:", sub);
	assert_string_equal(zgt_str(&r, "owner"), want);
	zgt_resp_free(&r);
}

static void
check_alg_accepted(const char *alg, EVP_PKEY *k, const char *kid)
{
	char sub[64];
	snprintf(sub, sizeof(sub), "oidc-%s-user", alg);
	char *t = login_jwt(alg, k, kid, sub, NULL, NULL);
	check_owner(t, sub);
	free(t);
}

static void
jwt_rs256_accepted(void **state)
{
	check_alg_accepted("RS256", fx.rsa, "rsa-1");
}

static void
jwt_ps256_accepted(void **state)
{
	check_alg_accepted("PS256", fx.rsa, "rsa-1");
}

static void
jwt_es256_accepted(void **state)
{
	check_alg_accepted("ES256", fx.ec, "ec-1");
}

static void
jwt_eddsa_accepted(void **state)
{
	check_alg_accepted("EdDSA", fx.ed, "ed-1");
}

static void
jwt_roles_claim_maps(void **state)
{
	char *viewer = login_jwt("ES256", fx.ec, "ec-1", "claims-viewer",
	    "[\"viewer\"]", NULL);
	char *admin = login_jwt("ES256", fx.ec, "ec-1", "claims-admin",
	    "[\"admin\"]", NULL);
	expect_login("/v1/roles", viewer, 403);
	expect_login("/v1/roles", admin, 200);
	free(viewer);
	free(admin);
}

static void
jwt_amr_satisfies_mfa(void **state)
{
	zgt_resp r;
	assert_int_equal(zgt_http(&srv, "POST", "/v1/roles", srv.token,
	    "{\"name\":\"roles-mfa\",\"permissions\":[{\"resource\":\"roles\","
	    "\"actions\":[\"list\"],\"conditions\":[{\"type\":\"auth\","
	    "\"methods\":[\"oidc\"],\"mfa\":true}]}]}", &r), 0);
	assert_int_equal(r.status, 201);
	zgt_resp_free(&r);
	char *with = login_jwt("RS256", fx.rsa, "rsa-1", "mfa-user",
	    "[\"roles-mfa\"]", "[\"pwd\",\"mfa\"]");
	char *without = login_jwt("RS256", fx.rsa, "rsa-1", "mfa-user",
	    "[\"roles-mfa\"]", "[\"pwd\"]");
	expect_login("/v1/roles", with, 200);
	expect_login("/v1/roles", without, 403);
	free(with);
	free(without);
}

static void
jwt_hs256_rejected(void **state)
{
	char *claims = claims_text("hmac-user", NULL, NULL, 600, -10);
	const char *header = "{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}";
	char *h = b64u(header, strlen(header));
	char *c = b64u(claims, strlen(claims));
	char input[1024], token[1200];
	uint8_t mac[32];
	unsigned maclen = sizeof(mac);
	snprintf(input, sizeof(input), "%s.%s", h, c);
	assert_non_null(HMAC(EVP_sha256(), "shared-secret", 13,
	    (const uint8_t *)input, strlen(input), mac, &maclen));
	char *s = b64u(mac, maclen);
	snprintf(token, sizeof(token), "%s.%s", input, s);
	expect_rejected(token, "HS256");
	free(claims);
	free(h);
	free(c);
	free(s);
}

static void
jwt_alg_none_rejected(void **state)
{
	char *claims = claims_text("none-user", NULL, NULL, 600, -10);
	char *t = jws_make("none", NULL, "{\"alg\":\"none\"}", claims);
	expect_rejected(t, "segments");

	/* With some signature bytes the header is read, and alg rejected. */
	char *signed_none = malloc(strlen(t) + 5);
	assert_non_null(signed_none);
	sprintf(signed_none, "%sAAAA", t);
	expect_rejected(signed_none, "none");
	free(signed_none);
	free(t);
	free(claims);
}

static void
jwt_alg_key_mismatch(void **state)
{
	char *claims = claims_text("mismatch-user", NULL, NULL, 600, -10);
	char *t = jws_make("ES256", fx.ec, "{\"alg\":\"ES256\",\"kid\":"
	    "\"rsa-1\"}", claims);
	expect_rejected(t, "ES256");
	free(t);
	free(claims);
}

static void
jwt_unknown_kid(void **state)
{
	char *t = login_jwt("RS256", fx.rsa, "rsa-9", "kid-user", NULL, NULL);
	expect_rejected(t, "rsa-9");
	free(t);
}

static void
jwt_expired(void **state)
{
	char *claims = claims_text("late-user", NULL, NULL, -3600, -7200);
	char *t = jws_make("EdDSA", fx.ed, "{\"alg\":\"EdDSA\",\"kid\":"
	    "\"ed-1\"}", claims);
	expect_rejected(t, "expired");
	free(t);
	free(claims);
}

static void
jwt_not_yet_valid(void **state)
{
	char *claims = claims_text("early-user", NULL, NULL, 7200, 3600);
	char *t = jws_make("EdDSA", fx.ed, "{\"alg\":\"EdDSA\",\"kid\":"
	    "\"ed-1\"}", claims);
	expect_rejected(t, "nbf");
	free(t);
	free(claims);
}

static void
jwt_bad_base64url(void **state)
{
	char *t = login_jwt("EdDSA", fx.ed, "ed-1", "b64-user", NULL, NULL);
	char *payload = strchr(t, '.') + 1;
	char *padded = malloc(strlen(t) + 2);
	assert_non_null(padded);

	/* '=' padding belongs to base64, not to base64url. */
	size_t at = (size_t)(strchr(payload, '.') - t);
	memcpy(padded, t, at);
	padded[at] = '=';
	strcpy(padded + at + 1, t + at);
	expect_rejected(padded, "base64url");
	/* So does '+'. */
	payload[3] = '+';
	expect_rejected(t, "base64url");
	free(padded);
	free(t);
}

static void
jwt_over_16k(void **state)
{
	char filler[ZG_JWT_MAX_LEN], header[64];
	memset(filler, 'x', sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	char *small = claims_text("big-user", NULL, NULL, 600, -10);
	json_t *c = json_loads(small, 0, NULL);
	free(small);
	json_object_set_new(c, "filler", json_string(filler));
	char *claims = json_dumps(c, JSON_COMPACT);
	snprintf(header, sizeof(header), "{\"alg\":\"EdDSA\",\"kid\":"
	    "\"ed-1\"}");
	char *t = jws_make("EdDSA", fx.ed, header, claims);
	assert_true(strlen(t) > ZG_JWT_MAX_LEN);
	expect_rejected(t, "16384");
	free(t);
	free(claims);
	json_decref(c);
}

static void
jwks_file_reloaded(void **state)
{
	char *old = login_jwt("RS256", fx.rsa, "rsa-1", "reload-user", NULL,
	    NULL);
	expect_login("/v1/credentials", old, 200);
	EVP_PKEY *fresh = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(fresh);
	EVP_PKEY_free(fx.rsa);
	fx.rsa = fresh;
	write_jwks();
	char *new = login_jwt("RS256", fx.rsa, "rsa-1", "reload-user", NULL,
	    NULL);
	expect_rejected(old, "signature");
	expect_login("/v1/credentials", new, 200);
	free(old);
	free(new);
}

/*
 * Runs make_did.js with the private key priv, aud and the times ext_in and
 * nbf_in (offsets from now), and returns the token (free it).
 */
static char *
make_did(const char *priv, const char *aud, long ext_in, long nbf_in)
{
	char cmd[1024], buf[4096];
	long now = (long)time(NULL);
	snprintf(cmd, sizeof(cmd), "node '%s' %s %s %ld %ld %ld", fx.did_script,
	    priv, aud, now, now + ext_in, now + nbf_in);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(buf, 1, sizeof(buf) - 1, p);
	int rc = pclose(p);
	if (rc != 0 || n == 0)
		fail_msg("%s failed with status %d", cmd, rc);
	buf[n] = '\0';
	return strdup(buf);
}

/* Writes a fresh secp256k1 private key as 64 hex digits. */
static void
random_key(char *out)
{
	uint8_t k[32];
	assert_int_equal(RAND_bytes(k, sizeof(k)), 1);
	/* A zero top byte keeps the key far below the group order. */
	k[0] = 0;
	k[1] |= 1;
	for (size_t i = 0; i < sizeof(k); i++)
		sprintf(out + 2 * i, "%02x", k[i]);
}

/* Decodes a DID token into its [proof, claim] array (free it). */
static json_t *
did_parts(const char *token)
{
	size_t len = strlen(token), n;
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	assert_int_equal(zg_base64_decode(token, len, buf, len, &n), ZG_OK);
	json_t *j = json_loadb((const char *)buf, n, 0, NULL);
	free(buf);
	assert_true(json_is_array(j));
	return j;
}

/* Encodes [proof, claim] as a DID token (free it). */
static char *
did_join(const char *proof, const char *claim)
{
	json_t *arr = json_pack("[s,s]", proof, claim);
	char *text = json_dumps(arr, JSON_COMPACT);
	char *out = malloc(zg_base64_encoded_len(strlen(text)) + 1);
	assert_non_null(out);
	zg_base64_encode((const uint8_t *)text, strlen(text), out);
	free(text);
	json_decref(arr);
	return out;
}

static void
did_valid_login(void **state)
{
	char key[65];
	if (!fx.node)
		skip();
	random_key(key);
	char *t = make_did(key, MAGIC_CLIENT, 600, -10);
	json_t *parts = did_parts(t);
	json_t *claim = json_loads(json_string_value(json_array_get(parts, 1)),
	    0, NULL);
	const char *iss = json_string_value(json_object_get(claim, "iss"));
	assert_non_null(iss);
	assert_int_equal(strncmp(iss, "did:ethr:0x", 11), 0);
	check_owner(t, iss);
	json_decref(claim);
	json_decref(parts);
	free(t);
}

static void
did_bad_signature(void **state)
{
	char key[65];
	if (!fx.node)
		skip();
	random_key(key);
	char *t = make_did(key, MAGIC_CLIENT, 600, -10);
	json_t *parts = did_parts(t);
	char *bad = did_join("0x1234", json_string_value(json_array_get(parts,
	    1)));
	expect_rejected(bad, "proof");
	free(bad);
	json_decref(parts);
	free(t);
}

static void
did_other_signer(void **state)
{
	char k1[65], k2[65];
	if (!fx.node)
		skip();
	random_key(k1);
	random_key(k2);
	char *a = make_did(k1, MAGIC_CLIENT, 600, -10);
	char *b = make_did(k2, MAGIC_CLIENT, 600, -10);
	json_t *pa = did_parts(a), *pb = did_parts(b);
	char *forged = did_join(json_string_value(json_array_get(pa, 0)),
	    json_string_value(json_array_get(pb, 1)));
	expect_rejected(forged, "iss address");
	free(forged);
	json_decref(pa);
	json_decref(pb);
	free(a);
	free(b);
}

static void
did_expired_ext(void **state)
{
	char key[65];
	if (!fx.node)
		skip();
	random_key(key);
	char *t = make_did(key, MAGIC_CLIENT, -3600, -7200);
	expect_rejected(t, "ext");
	free(t);
}

static void
did_wrong_aud(void **state)
{
	char key[65];
	if (!fx.node)
		skip();
	random_key(key);
	char *t = make_did(key, "some-other-client", 600, -10);
	expect_rejected(t, "aud");
	free(t);
}

static void
lockout_then_recover(void **state)
{
	zgt_daemon lk;
	char ini[1400], rid[64];
	zgt_resp r;
	long ra;

	snprintf(ini, sizeof(ini), "%s[lockout]\nthreshold = 3\n"
	    "window_seconds = 60\nbase_backoff_seconds = 4\n", fx.oidc_ini);
	assert_int_equal(zgt_daemon_start(&lk, ini), 0);
	for (int i = 0; i < 3; i++) {
		bearer_request(&lk, "GET", "/v1/credentials", "zgt_not_a_token",
		    &r, &ra);
		assert_int_equal(r.status, 401);
		zgt_resp_free(&r);
	}
	bearer_request(&lk, "GET", "/v1/credentials", lk.token, &r, &ra);
	/* The backoff is long enough that a slow machine still sends this
	 * request while the lockout holds. */
	assert_int_equal(r.status, 429);
	assert_true(ra >= 1 && ra <= 4);
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	zgt_resp_free(&r);
	char *jwt = login_jwt("ES256", fx.ec, "ec-1", "locked-user", NULL, NULL);
	bearer_request(&lk, "GET", "/v1/credentials", jwt, &r, &ra);
	assert_int_equal(r.status, 429);
	assert_true(ra >= 1);
	zgt_resp_free(&r);

	struct timespec ts = {ra + 1, 0};
	while (nanosleep(&ts, &ts) != 0)
		;
	bearer_request(&lk, "GET", "/v1/credentials", lk.token, &r, &ra);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);
	bearer_request(&lk, "GET", "/v1/credentials", jwt, &r, &ra);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);
	expect_failure_event(&lk, rid);
	free(jwt);
	zgt_daemon_stop(&lk);
	assert_false(zgt_log_has_sanitizer_report(&lk));
	zgt_daemon_cleanup(&lk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jwt_rs256_accepted),
		cmocka_unit_test(jwt_ps256_accepted),
		cmocka_unit_test(jwt_es256_accepted),
		cmocka_unit_test(jwt_eddsa_accepted),
		cmocka_unit_test(jwt_roles_claim_maps),
		cmocka_unit_test(jwt_amr_satisfies_mfa),
		cmocka_unit_test(jwt_hs256_rejected),
		cmocka_unit_test(jwt_alg_none_rejected),
		cmocka_unit_test(jwt_alg_key_mismatch),
		cmocka_unit_test(jwt_unknown_kid),
		cmocka_unit_test(jwt_expired),
		cmocka_unit_test(jwt_not_yet_valid),
		cmocka_unit_test(jwt_bad_base64url),
		cmocka_unit_test(jwt_over_16k),
		cmocka_unit_test(jwks_file_reloaded),
		cmocka_unit_test(did_valid_login),
		cmocka_unit_test(did_bad_signature),
		cmocka_unit_test(did_other_signer),
		cmocka_unit_test(did_expired_ext),
		cmocka_unit_test(did_wrong_aud),
		cmocka_unit_test(lockout_then_recover),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	curl_global_cleanup();
	return rc;
}
