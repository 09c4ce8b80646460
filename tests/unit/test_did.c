/*
 * Unit tests for Magic DID token verification.
 *
 * Tokens are built here with zg_secp_sign over zg_eth_personal_digest, and
 * once with ethers' Wallet.signMessage (tests/js/make_did.js) so that a
 * signer written elsewhere is checked too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "authn/did.h"
#include "base/codec.h"
#include "crypto/secp256k1.h"

#define NOW 1700000000
#define CLIENT_ID "magic-client-1"

/* Any valid secp256k1 secret keys will do; these are fixed for replay. */
static const char *const KEY_A =
    "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
static const char *const KEY_B =
    "0101010101010101010101010101010101010101010101010101010101010101";

static const zg_magic_config cfg = {.client_id = CLIENT_ID,
    .clock_skew_seconds = 30};

typedef struct claim_spec {
	const char *signer;            /* key that signs */
	const char *iss_key;           /* key whose address is iss */
	const char *aud;
	int64_t ext;
	int64_t nbf;
	int v_base;                    /* 27, or 0 for raw recovery ids */
} claim_spec;

static claim_spec
good_spec(void)
{
	return (claim_spec){KEY_A, KEY_A, CLIENT_ID, NOW + 900, NOW - 10, 27};
}

static void
key_from_hex(const char *hex, uint8_t priv[32])
{
	size_t n;
	assert_int_equal(zg_hex_decode(hex, 64, priv, 32, &n), ZG_OK);
}

static void
iss_of(const char *key_hex, char iss[64])
{
	uint8_t priv[32], pub[ZG_SECP_PUB_LEN], addr[ZG_ETH_ADDR_LEN];
	char hex[43];
	key_from_hex(key_hex, priv);
	assert_int_equal(zg_secp_public(priv, pub), ZG_OK);
	zg_eth_address(pub, addr);
	zg_eth_address_hex(addr, hex);
	snprintf(iss, 64, "did:ethr:%s", hex);
}

/* Encodes [proof, claim] as padded base64; the caller frees the result. */
static char *
wrap_token(const char *proof, const char *claim)
{
	json_t *arr = json_pack("[ss]", proof, claim);
	char *text = json_dumps(arr, JSON_COMPACT);
	char *out = malloc(zg_base64_encoded_len(strlen(text)) + 1);
	zg_base64_encode((const uint8_t *)text, strlen(text), out);
	free(text);
	json_decref(arr);
	return out;
}

static char *
sign_claim(const char *claim, const char *signer, int v_base)
{
	uint8_t priv[32], digest[32], sig[66];
	char proof[2 + 130 + 1];
	int recid;
	key_from_hex(signer, priv);
	zg_eth_personal_digest((const uint8_t *)claim, strlen(claim), digest);
	assert_int_equal(zg_secp_sign(priv, digest, sig, &recid), ZG_OK);
	sig[64] = (uint8_t)(v_base + recid);
	proof[0] = '0';
	proof[1] = 'x';
	zg_hex_encode(sig, 65, proof + 2);
	return wrap_token(proof, claim);
}

static char *
make_token(const claim_spec *s)
{
	char iss[64], claim[512];
	iss_of(s->iss_key, iss);
	snprintf(claim, sizeof(claim), "{\"iat\":%lld,\"ext\":%lld,\"iss\":"
	    "\"%s\",\"sub\":\"subject-1\",\"aud\":\"%s\",\"nbf\":%lld,"
	    "\"tid\":\"tid-1\",\"add\":\"\"}", (long long)s->nbf,
	    (long long)s->ext, iss, s->aud, (long long)s->nbf);
	return sign_claim(claim, s->signer, s->v_base);
}

static zg_err
verify(const char *token, zg_identity *id, zg_errmsg *em)
{
	return zg_did_verify(&cfg, token, strlen(token), NOW, id, em);
}

/* Verifies token, expects a 401 and that the message contains want. */
static void
expect_rejected(const char *token, const char *want)
{
	zg_identity id;
	zg_errmsg em = {0};
	assert_int_equal(verify(token, &id, &em), ZG_ERR_UNAUTHENTICATED);
	if (strstr(em.text, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", em.text, want);
	assert_string_equal(id.user_id, "");
}

static void
test_did_valid_token(void **state)
{
	claim_spec s = good_spec();
	char *token = make_token(&s);
	char iss[64];
	zg_identity id;
	zg_errmsg em = {0};
	iss_of(KEY_A, iss);
	assert_int_equal(verify(token, &id, &em), ZG_OK);
	assert_string_equal(id.user_id, iss);
	assert_string_equal(id.method, "magic");
	assert_false(id.mfa);
	assert_int_equal(id.n_roles, 0);
	assert_int_equal(id.expires_at, NOW + 900);
	zg_identity_clear(&id);
	free(token);
}

static void
test_did_raw_recovery_id(void **state)
{
	claim_spec s = good_spec();
	s.v_base = 0;
	char *token = make_token(&s);
	zg_identity id;
	assert_int_equal(verify(token, &id, NULL), ZG_OK);
	zg_identity_clear(&id);
	free(token);
}

static void
test_did_lowercase_iss(void **state)
{
	char iss[64], claim[512];
	iss_of(KEY_A, iss);
	for (char *p = iss; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	snprintf(claim, sizeof(claim), "{\"ext\":%d,\"nbf\":%d,\"iss\":\"%s\","
	    "\"aud\":\"%s\"}", NOW + 60, NOW, iss, CLIENT_ID);
	char *token = sign_claim(claim, KEY_A, 27);
	zg_identity id;
	assert_int_equal(verify(token, &id, NULL), ZG_OK);
	assert_string_equal(id.user_id, iss);
	zg_identity_clear(&id);
	free(token);
}

static void
test_did_wrong_signer(void **state)
{
	claim_spec s = good_spec();
	s.signer = KEY_B;
	char *token = make_token(&s);
	expect_rejected(token, "not made by the iss address");
	free(token);
}

static void
test_did_tampered_claim(void **state)
{
	char iss[64], claim[512];
	iss_of(KEY_A, iss);
	snprintf(claim, sizeof(claim), "{\"ext\":%d,\"nbf\":%d,\"iss\":\"%s\","
	    "\"aud\":\"%s\"}", NOW + 60, NOW, iss, CLIENT_ID);
	char *good = sign_claim(claim, KEY_A, 27);
	uint8_t raw[1024];
	size_t n;
	assert_int_equal(zg_base64_decode(good, strlen(good), raw, sizeof(raw),
	    &n), ZG_OK);
	json_t *arr = json_loadb((const char *)raw, n, 0, NULL);
	/* Same proof, claim with a later ext. */
	snprintf(claim, sizeof(claim), "{\"ext\":%d,\"nbf\":%d,\"iss\":\"%s\","
	    "\"aud\":\"%s\"}", NOW + 99999, NOW, iss, CLIENT_ID);
	char *bad = wrap_token(json_string_value(json_array_get(arr, 0)), claim);
	expect_rejected(bad, "not made by the iss address");
	json_decref(arr);
	free(good);
	free(bad);
}

static void
test_did_expired_ext(void **state)
{
	claim_spec s = good_spec();
	s.ext = NOW - 31;
	char *token = make_token(&s);
	expect_rejected(token, "expired");
	free(token);
}

static void
test_did_ext_within_skew(void **state)
{
	claim_spec s = good_spec();
	s.ext = NOW - 29;
	char *token = make_token(&s);
	zg_identity id;
	assert_int_equal(verify(token, &id, NULL), ZG_OK);
	zg_identity_clear(&id);
	free(token);
}

static void
test_did_nbf_in_future(void **state)
{
	claim_spec s = good_spec();
	s.nbf = NOW + 31;
	char *token = make_token(&s);
	expect_rejected(token, "not valid for another");
	free(token);
}

static void
test_did_wrong_aud(void **state)
{
	claim_spec s = good_spec();
	s.aud = "another-client";
	char *token = make_token(&s);
	expect_rejected(token, "client id");
	free(token);
}

static void
test_did_malformed_signatures(void **state)
{
	char iss[64], claim[256];
	iss_of(KEY_A, iss);
	snprintf(claim, sizeof(claim), "{\"ext\":%d,\"nbf\":%d,\"iss\":\"%s\","
	    "\"aud\":\"%s\"}", NOW + 60, NOW, iss, CLIENT_ID);
	char zeros[133], bad_v[133];
	memset(zeros, '0', 132);
	zeros[1] = 'x';
	zeros[132] = '\0';
	memcpy(bad_v, zeros, sizeof(bad_v));
	memcpy(bad_v + 130, "1f", 2);  /* v = 31 */
	static const struct {
		const char *proof;
		const char *message;
	} cases[] = {
		{"", "65-byte hex"},
		{"0x1234", "65-byte hex"},
		{NULL, "not a valid secp256k1"},     /* all-zero r and s */
		{NULL, "recovery byte 31"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *proof = cases[i].proof;
		if (i == 2)
			proof = zeros;
		if (i == 3)
			proof = bad_v;
		char *token = wrap_token(proof, claim);
		expect_rejected(token, cases[i].message);
		free(token);
	}
	/* 130 hex digits with a non-hex character. */
	zeros[50] = 'g';
	char *token = wrap_token(zeros, claim);
	expect_rejected(token, "65-byte hex");
	free(token);
}

static void
test_did_malformed_envelope(void **state)
{
	static const struct {
		const char *json;
		const char *message;
	} cases[] = {
		{"{}", "array of two strings"},
		{"[\"0x00\"]", "array of two strings"},
		{"[\"0x00\", {\"iss\":\"x\"}]", "array of two strings"},
		{"not json", "array of two strings"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *j = cases[i].json;
		char b64[128];
		zg_base64_encode((const uint8_t *)j, strlen(j), b64);
		expect_rejected(b64, cases[i].message);
	}
	expect_rejected("!!!notbase64", "padded base64");
	expect_rejected("WyJ", "padded base64");
}

static void
test_did_claim_not_object(void **state)
{
	char *token = sign_claim("[1,2]", KEY_A, 27);
	expect_rejected(token, "claim is not a JSON object");
	free(token);
}

static void
test_did_bad_issuer(void **state)
{
	char claim[256];
	snprintf(claim, sizeof(claim), "{\"ext\":%d,\"nbf\":%d,\"iss\":"
	    "\"did:web:example\",\"aud\":\"%s\"}", NOW + 60, NOW, CLIENT_ID);
	char *token = sign_claim(claim, KEY_A, 27);
	expect_rejected(token, "iss is not did:ethr");
	free(token);
}

static void
test_did_missing_times(void **state)
{
	char iss[64], claim[256];
	iss_of(KEY_A, iss);
	snprintf(claim, sizeof(claim), "{\"iss\":\"%s\",\"aud\":\"%s\"}", iss,
	    CLIENT_ID);
	char *token = sign_claim(claim, KEY_A, 27);
	expect_rejected(token, "ext and nbf");
	free(token);
}

static void
test_did_too_long(void **state)
{
	size_t n = ZG_DID_MAX_LEN + 4;
	char *token = malloc(n + 1);
	memset(token, 'A', n);
	token[n] = '\0';
	expect_rejected(token, "longer than");
	free(token);
}

static void
test_did_no_client_id(void **state)
{
	zg_magic_config none = {.client_id = NULL};
	zg_identity id;
	assert_int_equal(zg_did_verify(&none, "x", 1, NOW, &id, NULL),
	    ZG_ERR_CONFIG);
}

/* A token made by ethers, an implementation written elsewhere. */
static void
test_did_ethers_token(void **state)
{
	const char *src = getenv("ZGUARD_SOURCE_DIR");
	char script[1024], cmd[2048], token[4096];
	if (src == NULL)
		src = ".";
	snprintf(script, sizeof(script), "%s/tests/js/make_did.js", src);
	if (access(script, R_OK) != 0 || system("node --version >/dev/null "
	    "2>&1") != 0) {
		skip();
	}
	snprintf(cmd, sizeof(cmd), "node '%s' %s %s %d %d %d", script, KEY_A,
	    CLIENT_ID, NOW - 10, NOW + 900, NOW - 10);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(token, 1, sizeof(token) - 1, p);
	token[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_true(n > 0);

	char iss[64];
	zg_identity id;
	zg_errmsg em = {0};
	iss_of(KEY_A, iss);
	if (verify(token, &id, &em) != ZG_OK)
		fail_msg("ethers token rejected: %s", em.text);
	assert_string_equal(id.user_id, iss);
	zg_identity_clear(&id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_did_valid_token),
		cmocka_unit_test(test_did_raw_recovery_id),
		cmocka_unit_test(test_did_lowercase_iss),
		cmocka_unit_test(test_did_wrong_signer),
		cmocka_unit_test(test_did_tampered_claim),
		cmocka_unit_test(test_did_expired_ext),
		cmocka_unit_test(test_did_ext_within_skew),
		cmocka_unit_test(test_did_nbf_in_future),
		cmocka_unit_test(test_did_wrong_aud),
		cmocka_unit_test(test_did_malformed_signatures),
		cmocka_unit_test(test_did_malformed_envelope),
		cmocka_unit_test(test_did_claim_not_object),
		cmocka_unit_test(test_did_bad_issuer),
		cmocka_unit_test(test_did_missing_times),
		cmocka_unit_test(test_did_too_long),
		cmocka_unit_test(test_did_no_client_id),
		cmocka_unit_test(test_did_ethers_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
