/*
 * Unit tests for src/crypto: known-answer vectors from the standards,
 * forgeries that must be rejected, a seeded random round trip, and the
 * locked heap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "crypto/crypto.h"

/* Large enough for every vector below. */
#define MAX_VECTOR_LEN 256

/* Size of the locked heap the tests set up. */
#define TEST_ARENA_BYTES (64 * 1024)

/* Largest plaintext the random round trip uses. */
#define ROUND_TRIP_MAX_LEN 4096
#define ROUND_TRIP_RUNS 200

static zg_err init_err;

static int
setup_heap(void **state)
{
	init_err = zg_crypto_init(TEST_ARENA_BYTES);
	if (init_err != ZG_OK)
		fprintf(stderr, "NOTE: locked heap not locked (%s), check "
		    "RLIMIT_MEMLOCK\n", zg_strerror(init_err));
	return 0;
}

static int
teardown_heap(void **state)
{
	zg_crypto_shutdown();
	return 0;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	fail_msg("invalid hex digit '%c'", c);
	return -1;
}

/* Decodes a lowercase hex string into out and returns its length in bytes. */
static size_t
unhex(const char *hex, uint8_t out[MAX_VECTOR_LEN])
{
	size_t len = strlen(hex);
	assert_int_equal(len % 2, 0);
	assert_true(len / 2 <= MAX_VECTOR_LEN);
	for (size_t i = 0; i < len / 2; i++)
		out[i] = (uint8_t)(hex_digit(hex[2 * i]) << 4 |
		    hex_digit(hex[2 * i + 1]));
	return len / 2;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* SHA-256: the FIPS 180-2 examples "abc" and the 56-byte two-block message. */

static void
test_sha256_abc(void **state)
{
	uint8_t expected[MAX_VECTOR_LEN], out[ZG_SHA256_LEN];
	unhex("ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad",
	    expected);
	assert_int_equal(zg_sha256((const uint8_t *)"abc", 3, out), ZG_OK);
	assert_memory_equal(out, expected, ZG_SHA256_LEN);
}

static const char two_block_message[] =
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static void
test_sha256_two_blocks(void **state)
{
	uint8_t expected[MAX_VECTOR_LEN], out[ZG_SHA256_LEN];
	unhex("248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1",
	    expected);
	assert_int_equal(zg_sha256((const uint8_t *)two_block_message,
	    strlen(two_block_message), out), ZG_OK);
	assert_memory_equal(out, expected, ZG_SHA256_LEN);
}

static void
test_sha256_parts_concatenate(void **state)
{
	const uint8_t *msg = (const uint8_t *)two_block_message;
	const uint8_t *parts[] = {msg, msg + 5, msg + 5, msg + 40};
	const size_t lens[] = {5, 0, 35, strlen(two_block_message) - 40};
	uint8_t whole[ZG_SHA256_LEN], joined[ZG_SHA256_LEN];

	assert_int_equal(zg_sha256(msg, strlen(two_block_message), whole),
	    ZG_OK);
	assert_int_equal(zg_sha256_parts(parts, lens, 4, joined), ZG_OK);
	assert_memory_equal(joined, whole, ZG_SHA256_LEN);
}

/* HMAC-SHA-256: RFC 4231 section 4, test cases 1, 2 and 6. */

static void
check_hmac(const uint8_t *key, size_t key_len, const char *data,
    const char *mac_hex)
{
	uint8_t expected[MAX_VECTOR_LEN], out[ZG_SHA256_LEN];
	unhex(mac_hex, expected);
	assert_int_equal(zg_hmac_sha256(key, key_len, (const uint8_t *)data,
	    strlen(data), out), ZG_OK);
	assert_memory_equal(out, expected, ZG_SHA256_LEN);
}

static void
test_hmac_rfc4231_case1(void **state)
{
	uint8_t key[20];
	memset(key, 0x0b, sizeof(key));
	check_hmac(key, sizeof(key), "Hi There",
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void
test_hmac_rfc4231_case2(void **state)
{
	check_hmac((const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void
test_hmac_rfc4231_case6(void **state)
{
	/* A 131-byte key, longer than the block, is hashed first. */
	uint8_t key[131];
	memset(key, 0xaa, sizeof(key));
	check_hmac(key, sizeof(key),
	    "Test Using Larger Than Block-Size Key - Hash Key First",
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void
test_hmac_empty_key(void **state)
{
	uint8_t a[ZG_SHA256_LEN], b[ZG_SHA256_LEN];
	uint8_t zero_key[1] = {0};

	/* HMAC pads the key with zeros, so an empty key equals a zero byte. */
	assert_int_equal(zg_hmac_sha256(NULL, 0, (const uint8_t *)"x", 1, a),
	    ZG_OK);
	assert_int_equal(zg_hmac_sha256(zero_key, 1, (const uint8_t *)"x", 1,
	    b), ZG_OK);
	assert_memory_equal(a, b, ZG_SHA256_LEN);
}

/* HKDF-SHA-256: RFC 5869 appendix A.1 and A.3. */

static void
test_hkdf_rfc5869_case1(void **state)
{
	uint8_t ikm[22], salt[MAX_VECTOR_LEN], info[MAX_VECTOR_LEN];
	uint8_t expected[MAX_VECTOR_LEN], okm[42];
	memset(ikm, 0x0b, sizeof(ikm));
	size_t salt_len = unhex("000102030405060708090a0b0c", salt);
	size_t info_len = unhex("f0f1f2f3f4f5f6f7f8f9", info);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	    "34007208d5b887185865", expected);

	assert_int_equal(zg_hkdf_sha256(ikm, sizeof(ikm), salt, salt_len,
	    info, info_len, okm, sizeof(okm)), ZG_OK);
	assert_memory_equal(okm, expected, sizeof(okm));
}

static void
test_hkdf_rfc5869_case3(void **state)
{
	uint8_t ikm[22], expected[MAX_VECTOR_LEN], okm[42];
	memset(ikm, 0x0b, sizeof(ikm));
	unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	    "9d201395faa4b61a96c8", expected);

	assert_int_equal(zg_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0,
	    okm, sizeof(okm)), ZG_OK);
	assert_memory_equal(okm, expected, sizeof(okm));
}

static void
test_hkdf_missing_salt_is_zeros(void **state)
{
	const uint8_t ikm[ZG_KEY_LEN] = {7};
	const uint8_t zero_salt[ZG_SHA256_LEN] = {0};
	uint8_t without[ZG_KEY_LEN], with_zeros[ZG_KEY_LEN];

	assert_int_equal(zg_hkdf_sha256(ikm, sizeof(ikm), NULL, 0,
	    (const uint8_t *)"i", 1, without, sizeof(without)), ZG_OK);
	assert_int_equal(zg_hkdf_sha256(ikm, sizeof(ikm), zero_salt,
	    sizeof(zero_salt), (const uint8_t *)"i", 1, with_zeros,
	    sizeof(with_zeros)), ZG_OK);
	assert_memory_equal(without, with_zeros, sizeof(without));
}

/* Rebuilds HKDF from HMAC: PRK = HMAC(salt, IKM), T(1) = HMAC(PRK, info|1). */
static void
test_hkdf_empty_ikm(void **state)
{
	const uint8_t salt[4] = {1, 2, 3, 4};
	const uint8_t info_block[2] = {'i', 0x01};
	uint8_t prk[ZG_SHA256_LEN], expected[ZG_SHA256_LEN];
	uint8_t okm[ZG_SHA256_LEN];

	assert_int_equal(zg_hmac_sha256(salt, sizeof(salt), NULL, 0, prk),
	    ZG_OK);
	assert_int_equal(zg_hmac_sha256(prk, sizeof(prk), info_block,
	    sizeof(info_block), expected), ZG_OK);
	assert_int_equal(zg_hkdf_sha256(NULL, 0, salt, sizeof(salt),
	    info_block, 1, okm, sizeof(okm)), ZG_OK);
	assert_memory_equal(okm, expected, sizeof(okm));
}

static void
test_hkdf_output_limits(void **state)
{
	static uint8_t okm[255 * ZG_SHA256_LEN + 1];
	const uint8_t ikm[ZG_KEY_LEN] = {1};

	assert_int_equal(zg_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0,
	    okm, sizeof(okm) - 1), ZG_OK);
	assert_int_equal(zg_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0,
	    okm, sizeof(okm)), ZG_ERR_INVALID);
	assert_int_equal(zg_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0,
	    okm, 0), ZG_ERR_INVALID);
}

/*
 * AES-256-GCM: McGrew and Viega, "The Galois/Counter Mode of Operation
 * (GCM)", test cases 13 to 16, the AES-256 cases with a 96-bit IV.
 */

struct gcm_vector {
	const char *key, *nonce, *aad, *pt, *ct, *tag;
};

static const char gcm_spec_key[] =
    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
static const char gcm_spec_pt[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
static const char gcm_spec_ct[] =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";

static const struct gcm_vector gcm_case13 = {
	"0000000000000000000000000000000000000000000000000000000000000000",
	"000000000000000000000000", "", "", "",
	"530f8afbc74536b9a963b4f1c4cb738b",
};
static const struct gcm_vector gcm_case14 = {
	"0000000000000000000000000000000000000000000000000000000000000000",
	"000000000000000000000000", "",
	"00000000000000000000000000000000",
	"cea7403d4d606b6e074ec5d3baf39d18",
	"d0d1c8a799996bf0265b98b5d48ab919",
};
static const struct gcm_vector gcm_case15 = {
	gcm_spec_key, "cafebabefacedbaddecaf888", "", gcm_spec_pt,
	gcm_spec_ct, "b094dac5d93471bdec1a502270e3cc6c",
};

/* Case 16 is case 15 with AAD and the last 4 bytes of the plaintext dropped. */
struct gcm_bytes {
	uint8_t key[MAX_VECTOR_LEN], nonce[MAX_VECTOR_LEN];
	uint8_t aad[MAX_VECTOR_LEN], pt[MAX_VECTOR_LEN];
	uint8_t ct[MAX_VECTOR_LEN], tag[MAX_VECTOR_LEN];
	size_t aad_len, pt_len;
};

static void
gcm_decode(const struct gcm_vector *v, struct gcm_bytes *b)
{
	assert_int_equal(unhex(v->key, b->key), ZG_KEY_LEN);
	assert_int_equal(unhex(v->nonce, b->nonce), ZG_GCM_NONCE_LEN);
	b->aad_len = unhex(v->aad, b->aad);
	b->pt_len = unhex(v->pt, b->pt);
	assert_int_equal(unhex(v->ct, b->ct), b->pt_len);
	assert_int_equal(unhex(v->tag, b->tag), ZG_GCM_TAG_LEN);
}

static void
gcm_case16(struct gcm_bytes *b)
{
	const struct gcm_vector v = {
		gcm_spec_key, "cafebabefacedbaddecaf888",
		"feedfacedeadbeeffeedfacedeadbeefabaddad2",
		gcm_spec_pt, gcm_spec_ct, "76fc6ece0f4e1768cddf8853bb2d551b",
	};
	gcm_decode(&v, b);
	b->pt_len -= 4;
}

static void
check_gcm(struct gcm_bytes *b)
{
	uint8_t ct[MAX_VECTOR_LEN], tag[ZG_GCM_TAG_LEN], pt[MAX_VECTOR_LEN];

	assert_int_equal(zg_aes_gcm_encrypt(b->key, b->nonce, b->aad,
	    b->aad_len, b->pt, b->pt_len, ct, tag), ZG_OK);
	assert_memory_equal(ct, b->ct, b->pt_len);
	assert_memory_equal(tag, b->tag, ZG_GCM_TAG_LEN);

	assert_int_equal(zg_aes_gcm_decrypt(b->key, b->nonce, b->aad,
	    b->aad_len, b->ct, b->pt_len, b->tag, pt), ZG_OK);
	assert_memory_equal(pt, b->pt, b->pt_len);
}

static void
test_gcm_case13(void **state)
{
	struct gcm_bytes b;
	gcm_decode(&gcm_case13, &b);
	check_gcm(&b);
}

static void
test_gcm_case14(void **state)
{
	struct gcm_bytes b;
	gcm_decode(&gcm_case14, &b);
	check_gcm(&b);
}

static void
test_gcm_case15(void **state)
{
	struct gcm_bytes b;
	gcm_decode(&gcm_case15, &b);
	check_gcm(&b);
}

static void
test_gcm_case16(void **state)
{
	struct gcm_bytes b;
	gcm_case16(&b);
	check_gcm(&b);
}

/* Decrypts b into a buffer full of 0xa5 and expects a wiped reject. */
static void
check_gcm_forgery(struct gcm_bytes *b)
{
	uint8_t pt[MAX_VECTOR_LEN];
	memset(pt, 0xa5, sizeof(pt));

	assert_int_equal(zg_aes_gcm_decrypt(b->key, b->nonce, b->aad,
	    b->aad_len, b->ct, b->pt_len, b->tag, pt), ZG_ERR_INTEGRITY);
	assert_true(all_zero(pt, b->pt_len));
}

static void
test_gcm_rejects_ciphertext_bit(void **state)
{
	struct gcm_bytes b;
	gcm_case16(&b);
	b.ct[b.pt_len - 1] ^= 0x01;
	check_gcm_forgery(&b);
}

static void
test_gcm_rejects_tag_bit(void **state)
{
	struct gcm_bytes b;
	gcm_case16(&b);
	b.tag[0] ^= 0x80;
	check_gcm_forgery(&b);
}

static void
test_gcm_rejects_aad_bit(void **state)
{
	struct gcm_bytes b;
	gcm_case16(&b);
	b.aad[3] ^= 0x10;
	check_gcm_forgery(&b);
}

static void
test_gcm_rejects_nonce_bit(void **state)
{
	struct gcm_bytes b;
	gcm_case16(&b);
	b.nonce[ZG_GCM_NONCE_LEN - 1] ^= 0x01;
	check_gcm_forgery(&b);
}

static void
test_gcm_in_place(void **state)
{
	struct gcm_bytes b;
	uint8_t buf[MAX_VECTOR_LEN], tag[ZG_GCM_TAG_LEN];
	gcm_case16(&b);
	memcpy(buf, b.pt, b.pt_len);

	assert_int_equal(zg_aes_gcm_encrypt(b.key, b.nonce, b.aad, b.aad_len,
	    buf, b.pt_len, buf, tag), ZG_OK);
	assert_memory_equal(buf, b.ct, b.pt_len);
	assert_memory_equal(tag, b.tag, ZG_GCM_TAG_LEN);
}

/*
 * splitmix64, a small reproducible generator for test data only: the seed
 * printed by the test replays the exact keys, nonces and lengths.
 */
static uint64_t
next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static void
fill_random(uint64_t *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next_random(s);
}

static uint64_t
test_seed(void)
{
	const char *env = getenv("ZG_TEST_SEED");
	if (env != NULL && *env != '\0')
		return strtoull(env, NULL, 0);
	return (uint64_t)time(NULL);
}

static void
test_gcm_random_round_trip(void **state)
{
	uint64_t seed = test_seed();
	uint64_t s = seed;
	printf("gcm round trip seed=%llu (set ZG_TEST_SEED to replay)\n",
	    (unsigned long long)seed);

	uint8_t *pt = malloc(ROUND_TRIP_MAX_LEN);
	uint8_t *ct = malloc(ROUND_TRIP_MAX_LEN);
	uint8_t *back = malloc(ROUND_TRIP_MAX_LEN);
	assert_non_null(pt);
	assert_non_null(ct);
	assert_non_null(back);

	for (int run = 0; run < ROUND_TRIP_RUNS; run++) {
		uint8_t key[ZG_KEY_LEN], nonce[ZG_GCM_NONCE_LEN], aad[64];
		uint8_t tag[ZG_GCM_TAG_LEN];
		/* The first two runs pin the extremes, 0 and 4096 bytes. */
		size_t len = run == 0 ? 0 : run == 1 ? ROUND_TRIP_MAX_LEN :
		    next_random(&s) % (ROUND_TRIP_MAX_LEN + 1);
		size_t aad_len = next_random(&s) % (sizeof(aad) + 1);
		fill_random(&s, key, sizeof(key));
		fill_random(&s, nonce, sizeof(nonce));
		fill_random(&s, aad, aad_len);
		fill_random(&s, pt, len);

		assert_int_equal(zg_aes_gcm_encrypt(key, nonce, aad, aad_len,
		    pt, len, ct, tag), ZG_OK);
		assert_int_equal(zg_aes_gcm_decrypt(key, nonce, aad, aad_len,
		    ct, len, tag, back), ZG_OK);
		assert_memory_equal(back, pt, len);
	}
	free(pt);
	free(ct);
	free(back);
}

/* Ed25519: RFC 8032 section 7.1, TEST 1, TEST 2 and TEST 3. */

struct ed25519_vector {
	const char *priv, *pub, *msg, *sig;
};

static const struct ed25519_vector ed25519_test1 = {
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	"",
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	"5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
};
static const struct ed25519_vector ed25519_test2 = {
	"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	"72",
	"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	"085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
};
static const struct ed25519_vector ed25519_test3 = {
	"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	"af82",
	"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	"18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
};

static void
check_ed25519(const struct ed25519_vector *v)
{
	uint8_t priv[MAX_VECTOR_LEN], pub[MAX_VECTOR_LEN], msg[MAX_VECTOR_LEN];
	uint8_t sig[MAX_VECTOR_LEN];
	uint8_t got_pub[ZG_ED25519_PUB_LEN], got_sig[ZG_ED25519_SIG_LEN];
	assert_int_equal(unhex(v->priv, priv), ZG_ED25519_PRIV_LEN);
	assert_int_equal(unhex(v->pub, pub), ZG_ED25519_PUB_LEN);
	size_t msg_len = unhex(v->msg, msg);
	assert_int_equal(unhex(v->sig, sig), ZG_ED25519_SIG_LEN);

	assert_int_equal(zg_ed25519_public(priv, got_pub), ZG_OK);
	assert_memory_equal(got_pub, pub, ZG_ED25519_PUB_LEN);
	assert_int_equal(zg_ed25519_sign(priv, msg, msg_len, got_sig), ZG_OK);
	assert_memory_equal(got_sig, sig, ZG_ED25519_SIG_LEN);
	assert_int_equal(zg_ed25519_verify(pub, msg, msg_len, sig), ZG_OK);
}

static void
test_ed25519_rfc8032_test1(void **state)
{
	check_ed25519(&ed25519_test1);
}

static void
test_ed25519_rfc8032_test2(void **state)
{
	check_ed25519(&ed25519_test2);
}

static void
test_ed25519_rfc8032_test3(void **state)
{
	check_ed25519(&ed25519_test3);
}

static void
test_ed25519_rejects_message_bit(void **state)
{
	uint8_t pub[MAX_VECTOR_LEN], msg[MAX_VECTOR_LEN], sig[MAX_VECTOR_LEN];
	unhex(ed25519_test3.pub, pub);
	size_t msg_len = unhex(ed25519_test3.msg, msg);
	unhex(ed25519_test3.sig, sig);
	msg[1] ^= 0x01;

	assert_int_equal(zg_ed25519_verify(pub, msg, msg_len, sig),
	    ZG_ERR_INTEGRITY);
}

static void
test_ed25519_rejects_signature_bit(void **state)
{
	uint8_t pub[MAX_VECTOR_LEN], msg[MAX_VECTOR_LEN], sig[MAX_VECTOR_LEN];
	unhex(ed25519_test3.pub, pub);
	size_t msg_len = unhex(ed25519_test3.msg, msg);
	unhex(ed25519_test3.sig, sig);
	sig[40] ^= 0x04;

	assert_int_equal(zg_ed25519_verify(pub, msg, msg_len, sig),
	    ZG_ERR_INTEGRITY);
}

/*
 * Argon2id: RFC 9106 section 5.3, with a 32-byte password, 16-byte salt,
 * 8-byte secret and 12 bytes of associated data.
 */
static void
test_argon2id_rfc9106(void **state)
{
	uint8_t pass[32], salt[16], secret[8], ad[12];
	uint8_t expected[MAX_VECTOR_LEN], out[32];
	const zg_argon2_params params = {3, 32, 4};
	memset(pass, 0x01, sizeof(pass));
	memset(salt, 0x02, sizeof(salt));
	memset(secret, 0x03, sizeof(secret));
	memset(ad, 0x04, sizeof(ad));
	unhex("0d640df58d78766c08c037a34a8b53c9"
	    "d01ef0452d75b65eb52520e96b01e659",
	    expected);

	assert_int_equal(zg_argon2id(&params, pass, sizeof(pass), salt,
	    sizeof(salt), secret, sizeof(secret), ad, sizeof(ad), out,
	    sizeof(out)), ZG_OK);
	assert_memory_equal(out, expected, sizeof(out));
}

static void
test_argon2id_rejects_short_salt(void **state)
{
	const zg_argon2_params params = {1, 32, 1};
	const uint8_t salt[4] = {0};
	uint8_t out[32];

	assert_int_equal(zg_argon2id(&params, (const uint8_t *)"pw", 2, salt,
	    sizeof(salt), NULL, 0, NULL, 0, out, sizeof(out)), ZG_ERR_INVALID);
}

/* Locked heap, random bytes and constant-time comparison. */

static void
test_crypto_init_twice(void **state)
{
	assert_int_equal(zg_crypto_init(TEST_ARENA_BYTES), init_err);
}

static void
test_secure_alloc_in_locked_heap(void **state)
{
	uint8_t on_stack[16];
	uint8_t *p = zg_secure_alloc(64);
	assert_non_null(p);

	assert_true(zg_secure_allocated(p));
	assert_false(zg_secure_allocated(on_stack));
	zg_secure_free(p, 64);
	zg_secure_free(NULL, 0);
}

static void
test_random_fills_buffer(void **state)
{
	uint8_t a[32] = {0}, b[32] = {0};

	assert_int_equal(zg_random(a, sizeof(a)), ZG_OK);
	assert_int_equal(zg_random(b, sizeof(b)), ZG_OK);
	assert_false(zg_ct_equal(a, b, sizeof(a)));
}

static void
test_ct_equal_basic(void **state)
{
	const uint8_t a[4] = {1, 2, 3, 4};
	const uint8_t first[4] = {0, 2, 3, 4};
	const uint8_t last[4] = {1, 2, 3, 5};

	assert_true(zg_ct_equal(a, a, sizeof(a)));
	assert_false(zg_ct_equal(a, first, sizeof(a)));
	assert_false(zg_ct_equal(a, last, sizeof(a)));
	assert_true(zg_ct_equal(a, last, 3));
	assert_true(zg_ct_equal(a, first, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_abc),
		cmocka_unit_test(test_sha256_two_blocks),
		cmocka_unit_test(test_sha256_parts_concatenate),
		cmocka_unit_test(test_hmac_rfc4231_case1),
		cmocka_unit_test(test_hmac_rfc4231_case2),
		cmocka_unit_test(test_hmac_rfc4231_case6),
		cmocka_unit_test(test_hmac_empty_key),
		cmocka_unit_test(test_hkdf_rfc5869_case1),
		cmocka_unit_test(test_hkdf_rfc5869_case3),
		cmocka_unit_test(test_hkdf_missing_salt_is_zeros),
		cmocka_unit_test(test_hkdf_empty_ikm),
		cmocka_unit_test(test_hkdf_output_limits),
		cmocka_unit_test(test_gcm_case13),
		cmocka_unit_test(test_gcm_case14),
		cmocka_unit_test(test_gcm_case15),
		cmocka_unit_test(test_gcm_case16),
		cmocka_unit_test(test_gcm_rejects_ciphertext_bit),
		cmocka_unit_test(test_gcm_rejects_tag_bit),
		cmocka_unit_test(test_gcm_rejects_aad_bit),
		cmocka_unit_test(test_gcm_rejects_nonce_bit),
		cmocka_unit_test(test_gcm_in_place),
		cmocka_unit_test(test_gcm_random_round_trip),
		cmocka_unit_test(test_ed25519_rfc8032_test1),
		cmocka_unit_test(test_ed25519_rfc8032_test2),
		cmocka_unit_test(test_ed25519_rfc8032_test3),
		cmocka_unit_test(test_ed25519_rejects_message_bit),
		cmocka_unit_test(test_ed25519_rejects_signature_bit),
		cmocka_unit_test(test_argon2id_rfc9106),
		cmocka_unit_test(test_argon2id_rejects_short_salt),
		cmocka_unit_test(test_crypto_init_twice),
		cmocka_unit_test(test_secure_alloc_in_locked_heap),
		cmocka_unit_test(test_random_fills_buffer),
		cmocka_unit_test(test_ct_equal_basic),
	};
	return cmocka_run_group_tests(tests, setup_heap, teardown_heap);
}
