/*
 * Unit tests for the PKCS#11 backend against SoftHSM2, with tokens that
 * tests/support/softhsm.sh initializes under a private SOFTHSM2_CONF.
 * Skipped when the SoftHSM2 module is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "base/log.h"
#include "crypto/secp256k1.h"
#include "keys/keys_internal.h"
#include "zgtest.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN "zg-keys"
#define OTHER_TOKEN "zg-other"
#define USER_PIN "4711-user"
#define PIN_ENV "ZG_TEST_HSM_PIN"
#define SIGN_RUNS 64
#define THREADS 8
#define THREAD_RUNS 16

/* The upper half of the secp256k1 group order, big-endian: n / 2. */
static const uint8_t half_order[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
	0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

/*
 * SoftHSM 2.6.1 leaks one ASN.1 string per CKM_EDDSA signature inside its
 * C_Sign. The sanitizers read these two hooks in sanitizer builds: the
 * slow unwinder records the full allocation stack, which the suppression
 * needs, because libcrypto has no frame pointers. No code of this test or
 * of zguard calls ASN1_item_d2i_ex on this path.
 */
const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);

const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

const char *
__lsan_default_suppressions(void)
{
	return "leak:ASN1_item_d2i_ex\n";
}

static struct {
	char dir[64];
	char pin_file[128];
	zg_store *st;
	zg_keyring *kr;
	zg_keys *keys;
} g;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Initializes a token with softhsm.sh and sets SOFTHSM2_CONF. */
static int
init_token(const char *label)
{
	const char *src = getenv("ZGUARD_SOURCE_DIR");
	char cmd[512], conf[256];
	snprintf(cmd, sizeof(cmd), "%s/tests/support/softhsm.sh %s/hsm %s "
	    "so-%s %s", src ? src : ".", g.dir, label, label, USER_PIN);
	FILE *p = popen(cmd, "r");
	if (p == NULL || fgets(conf, sizeof(conf), p) == NULL) {
		if (p != NULL)
			pclose(p);
		return -1;
	}
	if (pclose(p) != 0)
		return -1;
	conf[strcspn(conf, "\n")] = '\0';
	return setenv("SOFTHSM2_CONF", conf, 1);
}

static zg_pkcs11_config
config(const char *label)
{
	return (zg_pkcs11_config){MODULE, label, g.pin_file, NULL, 2};
}

static int
group_setup(void **state)
{
	zg_errmsg em = {0};
	if (access(MODULE, R_OK) != 0)
		return 0; /* every test skips */
	snprintf(g.dir, sizeof(g.dir), "/tmp/zguard-p11-XXXXXX");
	if (mkdtemp(g.dir) == NULL || init_token(TOKEN) != 0 ||
	    init_token(OTHER_TOKEN) != 0)
		return -1;
	snprintf(g.pin_file, sizeof(g.pin_file), "%s/pin", g.dir);
	FILE *f = fopen(g.pin_file, "w");
	if (f == NULL || fputs(USER_PIN "\n", f) < 0 || fclose(f) != 0)
		return -1;
	zg_pkcs11_config cfg = config(TOKEN);
	if (zg_store_sqlite_open(g.dir, &g.st) != ZG_OK ||
	    zg_keyring_open(g.st, g.dir, ZG_SEAL_KEYFILE, &g.kr, &em) != ZG_OK ||
	    zg_keys_open(g.st, g.kr, &cfg, &g.keys, &em) != ZG_OK) {
		fprintf(stderr, "setup failed: %s\n", em.text);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	zg_keys_close(g.keys);
	if (g.kr != NULL)
		zg_keyring_close(g.kr);
	if (g.st != NULL)
		g.st->ops->close(g.st);
	if (g.dir[0] != '\0')
		nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void
need_module(void)
{
	if (g.keys == NULL)
		skip();
}

static void
create_key(enum zg_key_alg alg, zg_key *key)
{
	zg_key_params p = {"alice", alg, ZG_KEY_BACKEND_PKCS11, "hsm key", 0,
	    false};
	zg_errmsg em = {0};
	zg_err err = zg_keys_create(g.keys, &p, key, &em);
	if (err != ZG_OK)
		fprintf(stderr, "create: %s\n", em.text);
	assert_int_equal(err, ZG_OK);
}

static bool
low_s(const uint8_t sig[64])
{
	return memcmp(sig + 32, half_order, 32) <= 0;
}

static void
test_secp256k1_normalized(void **state)
{
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32], pub[ZG_SECP_PUB_LEN], raw[ZG_KEY_SIG_MAX];
	size_t raw_len, high = 0;
	unsigned seed = zgt_seed("test_secp256k1_normalized");

	need_module();
	create_key(ZG_KEY_ALG_SECP256K1, &key);
	srand(seed);
	for (int i = 0; i < SIGN_RUNS; i++) {
		for (int j = 0; j < 32; j++)
			digest[j] = (uint8_t)rand();
		/* The token's own output, to count how often s is high. */
		zg_obj_row row;
		char vid[ZG_OBJ_ID_MAX];
		zg_key_version_id(key.id, 1, vid);
		assert_int_equal(g.st->ops->obj_get(g.st, ZG_KEY_VERSION_KIND, vid,
		    &row), ZG_OK);
		CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
		assert_int_equal(zg_p11_sign(g.keys->p11, key.alg, row.blob,
		    row.blob_len, &handle, digest, 32, raw, &raw_len, &em), ZG_OK);
		zg_obj_row_free(&row);
		high += !low_s(raw);

		assert_int_equal(zg_keys_sign_digest(g.keys, key.id, digest, &sig,
		    &em), ZG_OK);
		assert_true(low_s(sig.sig));
		assert_in_range(sig.recid, 0, 3);
		assert_int_equal(zg_secp_recover(digest, sig.sig, sig.recid, pub),
		    ZG_OK);
		assert_memory_equal(pub, key.versions[0].pub, ZG_SECP_PUB_LEN);
	}
	/* About half of the token's signatures have a high s; none at all
	 * in 64 would mean the test never exercised the normalization. */
	assert_true(high > 0);
	zg_key_free(&key);
}

static int
p256_verify(const uint8_t pub[65], const uint8_t digest[32],
    const uint8_t sig[64])
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *vctx = NULL;
	EVP_PKEY *pkey = NULL;
	ECDSA_SIG *esig = ECDSA_SIG_new();
	unsigned char *der = NULL;
	int der_len, ok = -1;

	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65);
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	ECDSA_SIG_set0(esig, BN_bin2bn(sig, 32, NULL),
	    BN_bin2bn(sig + 32, 32, NULL));
	if ((der_len = i2d_ECDSA_SIG(esig, &der)) <= 0)
		goto out;
	vctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (EVP_PKEY_verify_init(vctx) != 1)
		goto out;
	ok = EVP_PKEY_verify(vctx, der, (size_t)der_len, digest, 32);
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(esig);
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return ok;
}

static void
test_p256_sign_verifies(void **state)
{
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32] = {0x25, 0x6};

	need_module();
	create_key(ZG_KEY_ALG_P256, &key);
	assert_int_equal(key.versions[0].pub_len, 65);
	assert_int_equal(zg_keys_sign_digest(g.keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(p256_verify(key.versions[0].pub, digest, sig.sig), 1);
	zg_key_free(&key);
}

static void
test_ed25519_sign_verifies(void **state)
{
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	static const uint8_t msg[] = "signed on the token";

	need_module();
	create_key(ZG_KEY_ALG_ED25519, &key);
	assert_int_equal(key.versions[0].pub_len, ZG_ED25519_PUB_LEN);
	assert_int_equal(zg_keys_sign_bytes(g.keys, key.id, msg, sizeof(msg),
	    &sig, &em), ZG_OK);
	assert_int_equal(zg_ed25519_verify(key.versions[0].pub, msg, sizeof(msg),
	    sig.sig), ZG_OK);
	zg_key_free(&key);
}

static void
test_private_key_not_extractable(void **state)
{
	zg_key key;
	zg_obj_row row;
	char vid[ZG_OBJ_ID_MAX];
	CK_FUNCTION_LIST_PTR fl;
	CK_OBJECT_HANDLE obj;
	CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
	uint8_t value[64];

	need_module();
	create_key(ZG_KEY_ALG_SECP256K1, &key);
	zg_key_version_id(key.id, 1, vid);
	assert_int_equal(g.st->ops->obj_get(g.st, ZG_KEY_VERSION_KIND, vid, &row),
	    ZG_OK);
	assert_int_equal(row.blob_len, ZG_KEY_P11_ID_LEN);
	CK_SESSION_HANDLE s = zg_p11_session_get(g.keys->p11, &fl);
	assert_int_equal(zg_p11_find(g.keys->p11, s, CKO_PRIVATE_KEY, row.blob,
	    row.blob_len, &obj), ZG_OK);
	CK_ATTRIBUTE secret = {CKA_VALUE, value, sizeof(value)};
	assert_int_equal(fl->C_GetAttributeValue(s, obj, &secret, 1),
	    CKR_ATTRIBUTE_SENSITIVE);
	CK_ATTRIBUTE flags[] = {
		{CKA_SENSITIVE, &sensitive, sizeof(sensitive)},
		{CKA_EXTRACTABLE, &extractable, sizeof(extractable)},
	};
	assert_int_equal(fl->C_GetAttributeValue(s, obj, flags, 2), CKR_OK);
	assert_int_equal(sensitive, CK_TRUE);
	assert_int_equal(extractable, CK_FALSE);
	zg_p11_session_put(g.keys->p11, s);
	zg_obj_row_free(&row);
	zg_key_free(&key);
}

static void
test_rotate_and_destroy(void **state)
{
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	zg_obj_row row;
	char vid[ZG_OBJ_ID_MAX];
	uint8_t digest[32] = {7}, id1[ZG_KEY_P11_ID_LEN];
	CK_OBJECT_HANDLE obj;

	need_module();
	create_key(ZG_KEY_ALG_SECP256K1, &key);
	zg_key_version_id(key.id, 1, vid);
	assert_int_equal(g.st->ops->obj_get(g.st, ZG_KEY_VERSION_KIND, vid, &row),
	    ZG_OK);
	memcpy(id1, row.blob, sizeof(id1));
	zg_obj_row_free(&row);

	assert_int_equal(zg_keys_rotate(g.keys, key.id, &key, &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(g.keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(sig.version, 2);
	assert_int_equal(zg_keys_destroy_version(g.keys, key.id, 1, &em), ZG_OK);
	CK_SESSION_HANDLE s = zg_p11_session_get(g.keys->p11, NULL);
	assert_int_equal(zg_p11_find(g.keys->p11, s, CKO_PRIVATE_KEY, id1,
	    sizeof(id1), &obj), ZG_ERR_NOT_FOUND);
	assert_int_equal(zg_p11_find(g.keys->p11, s, CKO_PUBLIC_KEY, id1,
	    sizeof(id1), &obj), ZG_ERR_NOT_FOUND);
	zg_p11_session_put(g.keys->p11, s);
	assert_int_equal(zg_keys_destroy_version(g.keys, key.id, 2, &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(g.keys, key.id, digest, &sig, &em),
	    ZG_ERR_REVOKED);
	zg_key_free(&key);
}

/*
 * The manager remembers the object handle of a token key between
 * signatures. A destroy through a second manager on the same store, as
 * another process would do it, must still stop the first from signing.
 */
static void
test_destroy_elsewhere_refuses(void **state)
{
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	zg_keys *other = NULL;
	uint8_t digest[32] = {3};
	zg_pkcs11_config cfg = config(TOKEN);

	need_module();
	create_key(ZG_KEY_ALG_SECP256K1, &key);
	assert_int_equal(zg_keys_open(g.st, g.kr, &cfg, &other, &em), ZG_OK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(zg_keys_sign_digest(g.keys, key.id, digest, &sig,
		    &em), ZG_OK);
	assert_int_equal(zg_keys_rotate(other, key.id, NULL, &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(g.keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(sig.version, 2);
	assert_int_equal(zg_keys_destroy_version(other, key.id, 2, &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(g.keys, key.id, digest, &sig, &em),
	    ZG_ERR_REVOKED);
	zg_keys_close(other);
	zg_key_free(&key);
}

/* A stale object handle makes zg_p11_sign search the key again. */
static void
test_stale_handle_searched(void **state)
{
	zg_key key;
	zg_errmsg em = {0};
	zg_obj_row row;
	char vid[ZG_OBJ_ID_MAX];
	uint8_t digest[32] = {4}, sig[ZG_KEY_SIG_MAX];
	size_t sig_len = 0;
	CK_OBJECT_HANDLE handle = 0x7fffff01, found;

	need_module();
	create_key(ZG_KEY_ALG_SECP256K1, &key);
	zg_key_version_id(key.id, 1, vid);
	assert_int_equal(g.st->ops->obj_get(g.st, ZG_KEY_VERSION_KIND, vid, &row),
	    ZG_OK);
	CK_SESSION_HANDLE s = zg_p11_session_get(g.keys->p11, NULL);
	assert_int_equal(zg_p11_find(g.keys->p11, s, CKO_PRIVATE_KEY, row.blob,
	    row.blob_len, &found), ZG_OK);
	zg_p11_session_put(g.keys->p11, s);
	assert_int_not_equal(found, handle);
	assert_int_equal(zg_p11_sign(g.keys->p11, key.alg, row.blob, row.blob_len,
	    &handle, digest, 32, sig, &sig_len, &em), ZG_OK);
	assert_int_equal(handle, found);
	assert_int_equal(sig_len, 64);
	zg_obj_row_free(&row);
	zg_key_free(&key);
}

static void
test_backup_marks_not_exportable(void **state)
{
	zg_key key;
	zg_errmsg em = {0};
	zg_buf bundle = ZG_BUF_INIT;
	zg_argon2_params cheap = {1, 1024, 1};
	size_t exported = 9, not_exportable = 0, restored = 9, skipped = 0;
	static const uint8_t pass[] = "pass";
	zg_key_params p = {"carol", ZG_KEY_ALG_P256, ZG_KEY_BACKEND_PKCS11,
	    NULL, 0, false};

	need_module();
	assert_int_equal(zg_keys_create(g.keys, &p, &key, &em), ZG_OK);
	assert_int_equal(zg_keys_backup(g.keys, "carol", pass, sizeof(pass),
	    &cheap, &bundle, &exported, &not_exportable, &em), ZG_OK);
	assert_int_equal(exported, 0);
	assert_int_equal(not_exportable, 1);
	assert_int_equal(zg_keys_restore(g.keys, bundle.data, bundle.len, pass,
	    sizeof(pass), &restored, &skipped, &em), ZG_OK);
	assert_int_equal(restored, 0);
	assert_int_equal(skipped, 1);
	zg_buf_free(&bundle);
	zg_key_free(&key);
}

struct thread_arg {
	const char *key_id;
	const uint8_t *pub;
	int failures;
};

static void *
sign_thread(void *p)
{
	struct thread_arg *a = p;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32], pub[ZG_SECP_PUB_LEN];

	for (int i = 0; i < THREAD_RUNS; i++) {
		memset(digest, i, sizeof(digest));
		digest[0] = (uint8_t)(uintptr_t)a;
		if (zg_keys_sign_digest(g.keys, a->key_id, digest, &sig, &em) != ZG_OK ||
		    zg_secp_recover(digest, sig.sig, sig.recid, pub) != ZG_OK ||
		    memcmp(pub, a->pub, sizeof(pub)) != 0)
			a->failures++;
	}
	return NULL;
}

/* More threads than pooled sessions, so some wait for a session. */
static void
test_threads_share_sessions(void **state)
{
	zg_key key;
	pthread_t t[THREADS];
	struct thread_arg args[THREADS];

	need_module();
	create_key(ZG_KEY_ALG_SECP256K1, &key);
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct thread_arg){key.id, key.versions[0].pub, 0};
		assert_int_equal(pthread_create(&t[i], NULL, sign_thread,
		    &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	zg_key_free(&key);
}

static void
test_wrong_pin_rejected(void **state)
{
	zg_errmsg em = {0};
	zg_keys *k = NULL;
	zg_pkcs11_config cfg = {MODULE, OTHER_TOKEN, NULL, PIN_ENV, 1};

	need_module();
	setenv(PIN_ENV, "not-the-pin", 1);
	assert_int_equal(zg_keys_open(g.st, g.kr, &cfg, &k, &em),
	    ZG_ERR_BACKEND_UNAVAILABLE);
	assert_null(k);
	assert_non_null(strstr(em.text, OTHER_TOKEN));
	assert_non_null(strstr(em.text, "PIN is incorrect"));
	assert_null(strstr(em.text, "not-the-pin"));
	unsetenv(PIN_ENV);
}

static void
test_pin_from_env(void **state)
{
	zg_errmsg em = {0};
	zg_keys *k = NULL;
	zg_pkcs11_config cfg = {MODULE, OTHER_TOKEN, NULL, PIN_ENV, 1};

	need_module();
	setenv(PIN_ENV, USER_PIN, 1);
	assert_int_equal(zg_keys_open(g.st, g.kr, &cfg, &k, &em), ZG_OK);
	zg_keys_close(k);
	unsetenv(PIN_ENV);
}

static void
test_unknown_label_rejected(void **state)
{
	zg_errmsg em = {0};
	zg_keys *k = NULL;
	zg_pkcs11_config cfg = config("no-such-token");

	need_module();
	assert_int_equal(zg_keys_open(g.st, g.kr, &cfg, &k, &em),
	    ZG_ERR_BACKEND_UNAVAILABLE);
	assert_non_null(strstr(em.text, "no-such-token"));
	assert_non_null(strstr(em.text, MODULE));
}

static void
test_module_not_loading(void **state)
{
	zg_errmsg em = {0};
	zg_keys *k = NULL;
	char missing[128];
	zg_pkcs11_config cfg = config(TOKEN);

	need_module();
	snprintf(missing, sizeof(missing), "%s/no-module.so", g.dir);
	cfg.module_path = missing;
	assert_int_equal(zg_keys_open(g.st, g.kr, &cfg, &k, &em),
	    ZG_ERR_BACKEND_UNAVAILABLE);
	assert_non_null(strstr(em.text, missing));
	/* A file that exists but is not a shared library. */
	cfg.module_path = g.pin_file;
	assert_int_equal(zg_keys_open(g.st, g.kr, &cfg, &k, &em),
	    ZG_ERR_BACKEND_UNAVAILABLE);
	assert_non_null(strstr(em.text, g.pin_file));
	assert_null(strstr(em.text, USER_PIN));
}

static void
test_pkcs11_off_rejected(void **state)
{
	zg_errmsg em = {0};
	zg_keys *k = NULL;
	zg_key key;
	zg_key_params p = {"alice", ZG_KEY_ALG_SECP256K1, ZG_KEY_BACKEND_PKCS11,
	    NULL, 0, false};

	need_module();
	assert_int_equal(zg_keys_open(g.st, g.kr, NULL, &k, &em), ZG_OK);
	/* Asking a server without a token for a pkcs11 key is a request
	 * error; a token that failed at start is an outage. */
	assert_int_equal(zg_keys_create(k, &p, &key, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "[pkcs11] module"));
	zg_keys_set_token_error(k, "the PIN was refused");
	assert_int_equal(zg_keys_create(k, &p, &key, &em),
	    ZG_ERR_BACKEND_UNAVAILABLE);
	assert_non_null(strstr(em.text, "the PIN was refused"));
	zg_keys_close(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secp256k1_normalized),
		cmocka_unit_test(test_p256_sign_verifies),
		cmocka_unit_test(test_ed25519_sign_verifies),
		cmocka_unit_test(test_private_key_not_extractable),
		cmocka_unit_test(test_rotate_and_destroy),
		cmocka_unit_test(test_destroy_elsewhere_refuses),
		cmocka_unit_test(test_stale_handle_searched),
		cmocka_unit_test(test_backup_marks_not_exportable),
		cmocka_unit_test(test_threads_share_sessions),
		cmocka_unit_test(test_wrong_pin_rejected),
		cmocka_unit_test(test_pin_from_env),
		cmocka_unit_test(test_unknown_label_rejected),
		cmocka_unit_test(test_module_not_loading),
		cmocka_unit_test(test_pkcs11_off_rejected),
	};
	zg_log_set_level(ZG_LOG_ERROR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
