/*
 * Unit tests for the key manager with the software backend, over a real
 * SQLite store and keyring in a temporary data directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/secp256k1.h"
#include "keys/keys.h"

/* Cheap Argon2id costs, so backup tests run in milliseconds. */
static const zg_argon2_params test_argon2 = {1, 1024, 1};

typedef struct fixture {
	char dir[64];
	zg_store *st;
	zg_keyring *kr;
	zg_keys *keys;
} fixture;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static zg_err
open_dir(fixture *f)
{
	zg_errmsg em = {0};
	zg_err err;
	if ((err = zg_store_sqlite_open(f->dir, &f->st)) != ZG_OK ||
	    (err = zg_keyring_open(f->st, f->dir, ZG_SEAL_KEYFILE, &f->kr,
	    &em)) != ZG_OK)
		return err;
	return zg_keys_open(f->st, f->kr, NULL, &f->keys, &em);
}

static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/zguard-keys-XXXXXX");
	if (mkdtemp(f->dir) == NULL || open_dir(f) != ZG_OK)
		return -1;
	*state = f;
	return 0;
}

static void
close_dir(fixture *f)
{
	zg_keys_close(f->keys);
	if (f->kr != NULL)
		zg_keyring_close(f->kr);
	if (f->st != NULL)
		f->st->ops->close(f->st);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
teardown(void **state)
{
	fixture *f = *state;
	close_dir(f);
	free(f);
	return 0;
}

static void
create_key(fixture *f, enum zg_key_alg alg, int64_t expires_at, zg_key *key)
{
	zg_key_params p = {"alice", alg, ZG_KEY_BACKEND_SOFTWARE, "test key",
	    expires_at, false};
	zg_errmsg em = {0};
	assert_int_equal(zg_keys_create(f->keys, &p, key, &em), ZG_OK);
}

static void
fill_digest(uint8_t d[32], uint8_t seed)
{
	for (int i = 0; i < 32; i++)
		d[i] = (uint8_t)(seed + 7 * i);
}

/* Checks an ECDSA P-256 signature r||s with OpenSSL. Returns 1 if valid. */
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
test_secp256k1_sign_recovers(void **state)
{
	fixture *f = *state;
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32], pub[ZG_SECP_PUB_LEN];

	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &key);
	assert_true(zg_key_id_valid(key.id));
	assert_int_equal(key.versions[0].pub_len, ZG_SECP_PUB_LEN);
	fill_digest(digest, 1);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(sig.version, 1);
	assert_int_equal(sig.sig_len, 64);
	assert_in_range(sig.recid, 0, 3);
	assert_int_equal(zg_secp_recover(digest, sig.sig, sig.recid, pub), ZG_OK);
	assert_memory_equal(pub, key.versions[0].pub, ZG_SECP_PUB_LEN);
	zg_key_free(&key);
}

static void
test_ed25519_sign_verifies(void **state)
{
	fixture *f = *state;
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	static const uint8_t msg[] = "a message of any length";

	create_key(f, ZG_KEY_ALG_ED25519, 0, &key);
	assert_int_equal(key.versions[0].pub_len, ZG_ED25519_PUB_LEN);
	assert_int_equal(zg_keys_sign_bytes(f->keys, key.id, msg, sizeof(msg),
	    &sig, &em), ZG_OK);
	assert_int_equal(sig.sig_len, ZG_ED25519_SIG_LEN);
	assert_int_equal(sig.recid, -1);
	assert_int_equal(zg_ed25519_verify(key.versions[0].pub, msg, sizeof(msg),
	    sig.sig), ZG_OK);
	zg_key_free(&key);
}

static void
test_p256_sign_verifies(void **state)
{
	fixture *f = *state;
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32];

	create_key(f, ZG_KEY_ALG_P256, 0, &key);
	assert_int_equal(key.versions[0].pub_len, 65);
	fill_digest(digest, 2);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(p256_verify(key.versions[0].pub, digest, sig.sig), 1);
	digest[0] ^= 1;
	assert_int_equal(p256_verify(key.versions[0].pub, digest, sig.sig), 0);
	zg_key_free(&key);
}

static void
test_wrong_sign_call_rejected(void **state)
{
	fixture *f = *state;
	zg_key ec, ed;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32] = {1};

	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &ec);
	create_key(f, ZG_KEY_ALG_ED25519, 0, &ed);
	assert_int_equal(zg_keys_sign_bytes(f->keys, ec.id, digest, 32, &sig,
	    &em), ZG_ERR_INVALID);
	assert_int_equal(zg_keys_sign_digest(f->keys, ed.id, digest, &sig, &em),
	    ZG_ERR_INVALID);
	assert_int_equal(zg_keys_sign_digest(f->keys, "key_000000000000000000000000",
	    digest, &sig, &em), ZG_ERR_NOT_FOUND);
	zg_key_free(&ec);
	zg_key_free(&ed);
}

/* EIP-155's example key 0x4646...46 and the sender address that the
 * EIP's signed example transaction recovers to. */
static void
test_import_eip155_address(void **state)
{
	fixture *f = *state;
	zg_key_params p = {"alice", ZG_KEY_ALG_SECP256K1,
	    ZG_KEY_BACKEND_SOFTWARE, "eip155", 0, false};
	zg_key key;
	zg_errmsg em = {0};
	char priv[67] = "0x";

	for (int i = 0; i < 32; i++)
		memcpy(priv + 2 + 2 * i, "46", 2);
	priv[66] = '\0';
	assert_int_equal(zg_keys_import(f->keys, &p, priv, &key, &em), ZG_OK);
	json_t *j = zg_key_to_json(&key, zg_time_now_us());
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "address")),
	    "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
	json_decref(j);
	zg_key_free(&key);
}

static void
test_import_rejects_bad_keys(void **state)
{
	fixture *f = *state;
	zg_key_params p = {"alice", ZG_KEY_ALG_SECP256K1,
	    ZG_KEY_BACKEND_SOFTWARE, NULL, 0, false};
	zg_key key;
	zg_errmsg em = {0};
	/* The secp256k1 group order n, which is not a valid secret key. */
	static const char order[] =
	    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

	assert_int_equal(zg_keys_import(f->keys, &p, order, &key, &em),
	    ZG_ERR_INVALID);
	assert_null(strstr(em.text, "baaedce6"));
	assert_int_equal(zg_keys_import(f->keys, &p, "0x1234", &key, &em),
	    ZG_ERR_INVALID);
	assert_int_equal(zg_keys_import(f->keys, &p,
	    "000000000000000000000000000000000000000000000000000000000000000g",
	    &key, &em), ZG_ERR_INVALID);
	p.alg = ZG_KEY_ALG_P256;
	assert_int_equal(zg_keys_import(f->keys, &p,
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    &key, &em), ZG_ERR_INVALID);
	p.backend = ZG_KEY_BACKEND_PKCS11;
	assert_int_equal(zg_keys_import(f->keys, &p,
	    "0000000000000000000000000000000000000000000000000000000000000001",
	    &key, &em), ZG_ERR_INVALID);
}

static void
test_names_rejected(void **state)
{
	enum zg_key_alg alg;
	enum zg_key_backend backend;
	zg_errmsg em = {0};

	assert_int_equal(zg_key_alg_parse("rsa", &alg, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "secp256k1, ed25519, p256"));
	assert_int_equal(zg_key_backend_parse("tpm", &backend, &em),
	    ZG_ERR_INVALID);
	assert_int_equal(zg_key_alg_parse("p256", &alg, &em), ZG_OK);
	assert_int_equal(alg, ZG_KEY_ALG_P256);
}

static void
test_rotate_signs_with_newest(void **state)
{
	fixture *f = *state;
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32], pub[ZG_SECP_PUB_LEN];

	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &key);
	assert_int_equal(zg_keys_rotate(f->keys, key.id, &key, &em), ZG_OK);
	assert_int_equal(key.current_version, 2);
	assert_int_equal(key.nversions, 2);
	assert_memory_not_equal(key.versions[0].pub, key.versions[1].pub, 65);
	fill_digest(digest, 3);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(sig.version, 2);
	assert_int_equal(zg_secp_recover(digest, sig.sig, sig.recid, pub), ZG_OK);
	assert_memory_equal(pub, key.versions[1].pub, ZG_SECP_PUB_LEN);
	assert_int_equal(key.versions[0].state, ZG_KEY_VERSION_ACTIVE);
	zg_key_free(&key);
}

static void
test_disable_refuses_sign(void **state)
{
	fixture *f = *state;
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32] = {9};

	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &key);
	assert_int_equal(zg_keys_set_disabled(f->keys, key.id, true, &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_ERR_DISABLED);
	assert_int_equal(sig.sig_len, 0);
	assert_int_equal(zg_keys_rotate(f->keys, key.id, NULL, &em),
	    ZG_ERR_DISABLED);
	zg_key_free(&key);
}

static void
test_enable_signs_again(void **state)
{
	fixture *f = *state;
	zg_key key, got;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32] = {9};

	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &key);
	assert_int_equal(zg_keys_set_disabled(f->keys, key.id, true, &em), ZG_OK);
	assert_int_equal(zg_keys_get(f->keys, key.id, &got, &em), ZG_OK);
	assert_string_equal(zg_key_status(&got, zg_time_now_us()), "disabled");
	zg_key_free(&got);
	assert_int_equal(zg_keys_set_disabled(f->keys, key.id, false, &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	zg_key_free(&key);
}

static void
test_expired_refuses_sign(void **state)
{
	fixture *f = *state;
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32] = {9};
	int64_t past = zg_time_now_us() - 1000000;

	create_key(f, ZG_KEY_ALG_ED25519, past, &key);
	assert_string_equal(zg_key_status(&key, zg_time_now_us()), "expired");
	assert_int_equal(zg_keys_sign_bytes(f->keys, key.id, digest, 32, &sig,
	    &em), ZG_ERR_EXPIRED);
	assert_non_null(strstr(em.text, key.id));
	zg_key_free(&key);
}

/*
 * A second manager on its own store handle over the same data directory
 * stands for another process sharing the store. Its writes must reach the
 * first manager's signatures, although that manager has cached the key.
 */
static void
test_disable_elsewhere_refuses(void **state)
{
	fixture *f = *state, other = {0};
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32] = {9};

	snprintf(other.dir, sizeof(other.dir), "%s", f->dir);
	assert_int_equal(open_dir(&other), ZG_OK);
	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &key);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(zg_keys_set_disabled(other.keys, key.id, true, &em),
	    ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_ERR_DISABLED);
	assert_int_equal(sig.sig_len, 0);
	assert_int_equal(zg_keys_set_disabled(other.keys, key.id, false, &em),
	    ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	zg_keys_close(other.keys);
	zg_keyring_close(other.kr);
	other.st->ops->close(other.st);
	zg_key_free(&key);
}

/* Version writes through another manager also reach cached signers. */
static void
test_version_change_elsewhere(void **state)
{
	fixture *f = *state, other = {0};
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32] = {6};

	snprintf(other.dir, sizeof(other.dir), "%s", f->dir);
	assert_int_equal(open_dir(&other), ZG_OK);
	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &key);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(zg_keys_set_version_disabled(other.keys, key.id, 1,
	    true, &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_ERR_DISABLED);
	assert_int_equal(zg_keys_set_version_disabled(other.keys, key.id, 1,
	    false, &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(zg_keys_destroy_version(other.keys, key.id, 1, &em),
	    ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_ERR_REVOKED);
	assert_int_equal(zg_keys_rotate(other.keys, key.id, NULL, &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(sig.version, 2);
	zg_keys_close(other.keys);
	zg_keyring_close(other.kr);
	other.st->ops->close(other.st);
	zg_key_free(&key);
}

/* A key cached while valid stops signing once its expiry passes. */
static void
test_cached_key_expires(void **state)
{
	fixture *f = *state;
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32] = {2};
	int64_t expires = zg_time_now_us() + 200000;

	create_key(f, ZG_KEY_ALG_SECP256K1, expires, &key);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	while (zg_time_now_us() < expires)
		usleep(20000);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_ERR_EXPIRED);
	zg_key_free(&key);
}

static void
test_version_disabled_refuses(void **state)
{
	fixture *f = *state;
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	uint8_t digest[32] = {5};

	create_key(f, ZG_KEY_ALG_P256, 0, &key);
	assert_int_equal(zg_keys_set_version_disabled(f->keys, key.id, 1, true,
	    &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_ERR_DISABLED);
	assert_int_equal(zg_keys_set_version_disabled(f->keys, key.id, 1, false,
	    &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(zg_keys_set_version_disabled(f->keys, key.id, 7, true,
	    &em), ZG_ERR_NOT_FOUND);
	zg_key_free(&key);
}

static void
test_destroyed_version_refuses(void **state)
{
	fixture *f = *state;
	zg_key key;
	zg_key_signature sig;
	zg_errmsg em = {0};
	zg_obj_row row;
	uint8_t digest[32] = {4};

	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &key);
	assert_int_equal(zg_keys_destroy_version(f->keys, key.id, 1, &em), ZG_OK);
	assert_int_equal(zg_keys_destroy_version(f->keys, key.id, 1, &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_ERR_REVOKED);
	char vid[ZG_OBJ_ID_MAX];
	snprintf(vid, sizeof(vid), "%s/1", key.id);
	assert_int_equal(f->st->ops->obj_get(f->st, ZG_KEY_VERSION_KIND, vid,
	    &row), ZG_OK);
	assert_null(row.blob);
	zg_obj_row_free(&row);
	assert_int_equal(zg_keys_set_version_disabled(f->keys, key.id, 1, false,
	    &em), ZG_ERR_REVOKED);
	/* A new version signs again; the destroyed one keeps its public key. */
	assert_int_equal(zg_keys_rotate(f->keys, key.id, &key, &em), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(f->keys, key.id, digest, &sig, &em),
	    ZG_OK);
	assert_int_equal(key.versions[0].state, ZG_KEY_VERSION_DESTROYED);
	assert_int_equal(key.versions[0].pub_len, ZG_SECP_PUB_LEN);
	zg_key_free(&key);
}

/* A sealed private key copied into another key's row must not open. */
static void
test_moved_blob_fails(void **state)
{
	fixture *f = *state;
	zg_key a, b;
	zg_key_signature sig;
	zg_errmsg em = {0};
	zg_obj_row ra, rb;
	char ida[ZG_OBJ_ID_MAX], idb[ZG_OBJ_ID_MAX];
	uint8_t digest[32] = {3};

	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &a);
	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &b);
	snprintf(ida, sizeof(ida), "%s/1", a.id);
	snprintf(idb, sizeof(idb), "%s/1", b.id);
	assert_int_equal(f->st->ops->obj_get(f->st, ZG_KEY_VERSION_KIND, ida,
	    &ra), ZG_OK);
	assert_int_equal(f->st->ops->obj_get(f->st, ZG_KEY_VERSION_KIND, idb,
	    &rb), ZG_OK);
	uint8_t *tmp = rb.blob;
	size_t tmp_len = rb.blob_len;
	rb.blob = ra.blob;
	rb.blob_len = ra.blob_len;
	assert_int_equal(f->st->ops->obj_put(f->st, &rb, rb.rev, NULL), ZG_OK);
	rb.blob = tmp;
	rb.blob_len = tmp_len;
	assert_int_equal(zg_keys_sign_digest(f->keys, b.id, digest, &sig, &em),
	    ZG_ERR_INTEGRITY);
	assert_int_equal(sig.sig_len, 0);
	assert_int_equal(zg_keys_sign_digest(f->keys, a.id, digest, &sig, &em),
	    ZG_OK);
	zg_obj_row_free(&ra);
	zg_obj_row_free(&rb);
	zg_key_free(&a);
	zg_key_free(&b);
}

static void
test_list_by_owner(void **state)
{
	fixture *f = *state;
	zg_key a, b, c, *keys = NULL;
	zg_key_params p = {"bob", ZG_KEY_ALG_ED25519, ZG_KEY_BACKEND_SOFTWARE,
	    "bob's", 0, true};
	zg_errmsg em = {0};
	size_t n = 0;

	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &a);
	create_key(f, ZG_KEY_ALG_P256, 0, &b);
	assert_int_equal(zg_keys_create(f->keys, &p, &c, &em), ZG_OK);
	assert_int_equal(zg_keys_list(f->keys, "alice", NULL, 10, &keys, &n,
	    &em), ZG_OK);
	assert_int_equal(n, 2);
	zg_keys_free(keys, n);
	assert_int_equal(zg_keys_list(f->keys, NULL, NULL, 10, &keys, &n, &em),
	    ZG_OK);
	assert_int_equal(n, 3);
	zg_keys_free(keys, n);
	assert_int_equal(zg_keys_list(f->keys, "bob", NULL, 10, &keys, &n, &em),
	    ZG_OK);
	assert_int_equal(n, 1);
	assert_true(keys[0].allow_raw_digest);
	assert_string_equal(keys[0].label, "bob's");
	zg_keys_free(keys, n);
	zg_key_free(&a);
	zg_key_free(&b);
	zg_key_free(&c);
}

static void
test_json_shape(void **state)
{
	fixture *f = *state;
	zg_key key;
	static const char *const fields[] = {"id", "algorithm", "backend",
	    "version", "publicKey", "address", "label", "status", "expiresAt",
	    "allowRawDigest", "versions", "createdAt"};

	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &key);
	json_t *j = zg_key_to_json(&key, zg_time_now_us());
	assert_non_null(j);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		assert_non_null(json_object_get(j, fields[i]));
	assert_string_equal(json_string_value(json_object_get(j, "status")),
	    "active");
	assert_true(json_is_null(json_object_get(j, "expiresAt")));
	json_t *v = json_array_get(json_object_get(j, "versions"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "state")),
	    "active");
	assert_int_equal(strlen(json_string_value(json_object_get(v,
	    "publicKey"))), 2 + 130);
	json_decref(j);
	zg_key_free(&key);
}

/* Creates keys, backs them up, and restores them into a second data
 * directory, where they sign exactly as before. */
static void
test_backup_restore_round_trip(void **state)
{
	fixture *f = *state;
	fixture g = {0};
	zg_key ec, ed, p256, got;
	zg_key_signature s1, s2;
	zg_errmsg em = {0};
	zg_buf bundle = ZG_BUF_INIT;
	size_t exported = 0, skipped = 0, restored = 0;
	uint8_t digest[32] = {8};
	static const uint8_t pass[] = "correct horse";

	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &ec);
	create_key(f, ZG_KEY_ALG_ED25519, 0, &ed);
	create_key(f, ZG_KEY_ALG_P256, 0, &p256);
	assert_int_equal(zg_keys_rotate(f->keys, ec.id, NULL, &em), ZG_OK);
	assert_int_equal(zg_keys_destroy_version(f->keys, ec.id, 1, &em), ZG_OK);
	assert_int_equal(zg_keys_backup(f->keys, NULL, pass, sizeof(pass),
	    &test_argon2, &bundle, &exported, &skipped, &em), ZG_OK);
	assert_int_equal(exported, 3);
	assert_int_equal(skipped, 0);
	assert_int_equal(zg_keys_sign_digest(f->keys, ec.id, digest, &s1, &em),
	    ZG_OK);

	snprintf(g.dir, sizeof(g.dir), "/tmp/zguard-keys-XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	assert_int_equal(open_dir(&g), ZG_OK);
	assert_int_equal(zg_keys_restore(g.keys, bundle.data, bundle.len, pass,
	    sizeof(pass), &restored, &skipped, &em), ZG_OK);
	assert_int_equal(restored, 3);
	/* RFC 6979 nonces: the same key and digest give the same signature. */
	assert_int_equal(zg_keys_sign_digest(g.keys, ec.id, digest, &s2, &em),
	    ZG_OK);
	assert_int_equal(s2.version, 2);
	assert_memory_equal(s1.sig, s2.sig, 64);
	assert_int_equal(zg_keys_get(g.keys, ec.id, &got, &em), ZG_OK);
	assert_int_equal(got.nversions, 2);
	assert_int_equal(got.versions[0].state, ZG_KEY_VERSION_DESTROYED);
	zg_key_free(&got);
	assert_int_equal(zg_keys_sign_bytes(g.keys, ed.id, digest, 32, &s2, &em),
	    ZG_OK);
	assert_int_equal(zg_ed25519_verify(ed.versions[0].pub, digest, 32,
	    s2.sig), ZG_OK);
	assert_int_equal(zg_keys_sign_digest(g.keys, p256.id, digest, &s2, &em),
	    ZG_OK);
	assert_int_equal(p256_verify(p256.versions[0].pub, digest, s2.sig), 1);
	/* A second restore into the same directory writes nothing. */
	assert_int_equal(zg_keys_restore(g.keys, bundle.data, bundle.len, pass,
	    sizeof(pass), &restored, &skipped, &em), ZG_ERR_CONFLICT);
	close_dir(&g);
	zg_buf_free(&bundle);
	zg_key_free(&ec);
	zg_key_free(&ed);
	zg_key_free(&p256);
}

static void
test_restore_wrong_passphrase(void **state)
{
	fixture *f = *state;
	zg_key key, *keys = NULL;
	zg_errmsg em = {0};
	zg_buf bundle = ZG_BUF_INIT;
	size_t n = 0;
	static const uint8_t pass[] = "right", wrong[] = "wrong";

	create_key(f, ZG_KEY_ALG_SECP256K1, 0, &key);
	assert_int_equal(zg_keys_backup(f->keys, "alice", pass, sizeof(pass),
	    &test_argon2, &bundle, NULL, NULL, &em), ZG_OK);
	assert_int_equal(zg_keys_destroy_version(f->keys, key.id, 1, &em), ZG_OK);
	assert_int_equal(f->st->ops->obj_delete(f->st, ZG_KEY_KIND, key.id,
	    ZG_REV_ANY), ZG_OK);
	assert_int_equal(zg_keys_restore(f->keys, bundle.data, bundle.len, wrong,
	    sizeof(wrong), NULL, NULL, &em), ZG_ERR_BAD_PASSPHRASE);
	bundle.data[bundle.len / 2] ^= 1;
	assert_int_equal(zg_keys_restore(f->keys, bundle.data, bundle.len, pass,
	    sizeof(pass), NULL, NULL, &em), ZG_ERR_BAD_PASSPHRASE);
	assert_int_equal(zg_keys_restore(f->keys, bundle.data, 20, pass,
	    sizeof(pass), NULL, NULL, &em), ZG_ERR_INVALID);
	assert_int_equal(zg_keys_list(f->keys, NULL, NULL, 10, &keys, &n, &em),
	    ZG_OK);
	assert_int_equal(n, 0);
	zg_buf_free(&bundle);
	zg_key_free(&key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_secp256k1_sign_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ed25519_sign_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_p256_sign_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_sign_call_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_eip155_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_rejects_bad_keys, setup, teardown),
		cmocka_unit_test(test_names_rejected),
		cmocka_unit_test_setup_teardown(test_rotate_signs_with_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disable_refuses_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_signs_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_refuses_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disable_elsewhere_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_change_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cached_key_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_disabled_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroyed_version_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_moved_blob_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_by_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_restore_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_wrong_passphrase, setup, teardown),
	};
	zg_log_set_level(ZG_LOG_ERROR);
	/* Without a locked arena (RLIMIT_MEMLOCK) the tests still run. */
	(void)zg_crypto_init(1 << 20);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
