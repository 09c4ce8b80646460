/*
 * Unit tests for Keccak-256, secp256k1 signing and recovery, Ethereum
 * addresses and EIP-191 digests.
 *
 * Where no standard publishes a vector, the expected values were computed
 * with ethers 6.17.0 (tests/package.json), an implementation written
 * elsewhere. The integration tests compare with it again at run time.
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

#include "base/codec.h"
#include "crypto/crypto.h"
#include "crypto/keccak.h"
#include "crypto/secp256k1.h"

#define RANDOM_RUNS 200

static void
hex32(const uint8_t h[32], char out[65])
{
	static const char d[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = d[h[i] >> 4];
		out[2 * i + 1] = d[h[i] & 0xf];
	}
	out[64] = '\0';
}

static void
check_keccak(const uint8_t *data, size_t len, const char *want)
{
	uint8_t h[32];
	char got[65];
	zg_keccak256(data, len, h);
	hex32(h, got);
	assert_string_equal(got, want);
}

static void
test_keccak_empty(void **state)
{
	/* The Keccak-256 of the empty string, which Ethereum uses as the
	 * code hash of an account without code. */
	check_keccak(NULL, 0,
	    "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

static void
test_keccak_abc(void **state)
{
	check_keccak((const uint8_t *)"abc", 3,
	    "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

/* Lengths around the 136-byte block, from ethers' keccak256 over the bytes
 * (i * 7 + 3) mod 256. */
static void
test_keccak_block_edges(void **state)
{
	static const struct {
		size_t len;
		const char *hash;
	} v[] = {
	    {135, "00ef96af9cf4b24c7f269d922294444a197d0a33638c2e56634c57e892103a8f"},
	    {136, "742061bcad767ed4c4f5883b1dcb1aad11afdcc140dc469d953759b127b9f9ed"},
	    {137, "e3371f61e770abf254c34239c3b0099ad90594507415bc81dd0a10b9692bbf2a"},
	    {272, "ac141fd7b0a0ffcd2e967254d508da3ec616596493c36fa304425647d90e6de5"},
	    {999, "d56d77b0082d1f3de3b656b803f645dc4d03b82181b2242c2944d6da4b53f03b"},
	};
	uint8_t buf[1000];
	for (int i = 0; i < 1000; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		check_keccak(buf, v[i].len, v[i].hash);
}

static void
test_keccak_split_updates(void **state)
{
	uint8_t buf[600], one[32], parts[32];
	unsigned seed = (unsigned)time(NULL);
	printf("seed %u\n", seed);
	srand(seed);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	zg_keccak256(buf, sizeof(buf), one);
	for (int run = 0; run < RANDOM_RUNS; run++) {
		zg_keccak k;
		size_t off = 0;
		zg_keccak_init(&k);
		while (off < sizeof(buf)) {
			size_t n = (size_t)rand() % 150;
			if (n > sizeof(buf) - off)
				n = sizeof(buf) - off;
			zg_keccak_update(&k, buf + off, n);
			off += n;
		}
		zg_keccak_final(&k, parts);
		assert_memory_equal(one, parts, 32);
	}
}

/* EIP-155's example key, 0x4646...46, and its published address. */
static void
test_address_of_eip155_key(void **state)
{
	uint8_t priv[32], pub[65], addr[20];
	char hex[43];
	memset(priv, 0x46, sizeof(priv));
	assert_int_equal(zg_secp_public(priv, pub), ZG_OK);
	zg_eth_address(pub, addr);
	zg_eth_address_hex(addr, hex);
	assert_string_equal(hex, "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
}

/* The mixed-case examples of EIP-55. */
static void
test_eip55_examples(void **state)
{
	static const char *const v[] = {
	    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
	    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
	    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t addr[20];
		char back[43];
		assert_int_equal(zg_eth_address_parse(v[i], addr), ZG_OK);
		zg_eth_address_hex(addr, back);
		assert_string_equal(back, v[i]);
	}
}

static void
test_eip55_bad_checksum(void **state)
{
	uint8_t addr[20];
	/* The first example with one letter's case flipped. */
	assert_int_equal(zg_eth_address_parse(
	    "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", addr), ZG_ERR_INVALID);
}

static void
test_address_single_case_accepted(void **state)
{
	uint8_t addr[20];
	assert_int_equal(zg_eth_address_parse(
	    "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", addr), ZG_OK);
	assert_int_equal(zg_eth_address_parse(
	    "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", addr), ZG_OK);
}

static void
test_address_malformed(void **state)
{
	static const char *const v[] = {
	    "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
	    "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea",
	    "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedaa",
	    "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg",
	    "",
	};
	uint8_t addr[20];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(zg_eth_address_parse(v[i], addr),
		    ZG_ERR_INVALID);
}

/* personal_sign("hello") with the EIP-155 key, as ethers'
 * Wallet.signMessage computes it (RFC 6979 nonces make it fixed). */
static void
test_personal_sign_matches_ethers(void **state)
{
	static const char want[] =
	    "f63c93dc642a4839770b35abf9cb304ac2f1b5463d9a9abd87546feaa0af992e"
	    "659cf087c433e45c45f6135cb819ab1922c6359dbb1b8c8d7a54141de2cd4beb";
	uint8_t priv[32], d[32], sig[64], want_sig[64];
	int recid;
	memset(priv, 0x46, sizeof(priv));
	zg_eth_personal_digest((const uint8_t *)"hello", 5, d);
	assert_int_equal(zg_secp_sign(priv, d, sig, &recid), ZG_OK);
	assert_int_equal(zg_hex_decode(want, strlen(want), want_sig,
	    sizeof(want_sig), NULL), ZG_OK);
	assert_memory_equal(sig, want_sig, 64);
	assert_int_equal(recid, 0);  /* v = 27 */
}

static void
test_sign_recover_round_trip(void **state)
{
	for (int run = 0; run < 20; run++) {
		uint8_t priv[32], pub[65], got[65], d[32], sig[64];
		int recid;
		assert_int_equal(zg_secp_keygen(priv), ZG_OK);
		assert_int_equal(zg_secp_public(priv, pub), ZG_OK);
		assert_int_equal(zg_random(d, sizeof(d)), ZG_OK);
		assert_int_equal(zg_secp_sign(priv, d, sig, &recid), ZG_OK);
		assert_int_equal(zg_secp_recover(d, sig, recid, got), ZG_OK);
		assert_memory_equal(pub, got, 65);
		/* A changed digest recovers some other key, or none. */
		d[0] ^= 1;
		if (zg_secp_recover(d, sig, recid, got) == ZG_OK)
			assert_memory_not_equal(pub, got, 65);
	}
}

/* A high-s signature, as PKCS#11 tokens return half the time, is turned
 * into the low-s one with the right recovery id. */
static void
test_normalize_high_s(void **state)
{
	/* The group order n; s' = n - s flips a low s to a high one. */
	static const uint8_t n[32] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
	    0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
	uint8_t priv[32], pub[65], d[32], sig[64], high[64];
	int recid, found;
	memset(priv, 0x46, sizeof(priv));
	assert_int_equal(zg_secp_public(priv, pub), ZG_OK);
	memset(d, 0x11, sizeof(d));
	assert_int_equal(zg_secp_sign(priv, d, sig, &recid), ZG_OK);
	memcpy(high, sig, 32);
	int borrow = 0;
	for (int i = 31; i >= 0; i--) {
		int v = n[i] - sig[32 + i] - borrow;
		borrow = v < 0;
		high[32 + i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
	assert_int_equal(zg_secp_normalize(d, high, pub, &found), ZG_OK);
	assert_memory_equal(high, sig, 64);
	assert_int_equal(found, recid);
}

static void
test_normalize_rejects_other_key(void **state)
{
	uint8_t priv[32], other[32], pub[65], d[32], sig[64];
	int recid;
	memset(priv, 0x46, sizeof(priv));
	memset(other, 0x47, sizeof(other));
	assert_int_equal(zg_secp_public(other, pub), ZG_OK);
	memset(d, 0x22, sizeof(d));
	assert_int_equal(zg_secp_sign(priv, d, sig, &recid), ZG_OK);
	assert_int_equal(zg_secp_normalize(d, sig, pub, &recid),
	    ZG_ERR_INVALID);
}

static void
test_recover_rejects_bad_input(void **state)
{
	uint8_t d[32] = {1}, sig[64], pub[65];
	memset(sig, 0, sizeof(sig));
	assert_int_equal(zg_secp_recover(d, sig, 0, pub), ZG_ERR_INVALID);
	memset(sig, 0xff, sizeof(sig));
	assert_int_equal(zg_secp_recover(d, sig, 0, pub), ZG_ERR_INVALID);
	memset(sig, 0x01, sizeof(sig));
	assert_int_equal(zg_secp_recover(d, sig, 4, pub), ZG_ERR_INVALID);
}

static void
test_invalid_private_keys(void **state)
{
	uint8_t zero[32] = {0}, big[32];
	uint8_t pub[65];
	memset(big, 0xff, sizeof(big));
	assert_false(zg_secp_priv_valid(zero));
	assert_false(zg_secp_priv_valid(big));
	assert_int_equal(zg_secp_public(zero, pub), ZG_ERR_INVALID);
}

static void
test_parse_public_compressed(void **state)
{
	uint8_t priv[32], pub[65], comp[33], back[65];
	memset(priv, 0x46, sizeof(priv));
	assert_int_equal(zg_secp_public(priv, pub), ZG_OK);
	comp[0] = (uint8_t)(0x02 | (pub[64] & 1));
	memcpy(comp + 1, pub + 1, 32);
	assert_int_equal(zg_secp_parse_public(comp, sizeof(comp), back), ZG_OK);
	assert_memory_equal(pub, back, 65);
	comp[0] = 0x05;
	assert_int_equal(zg_secp_parse_public(comp, sizeof(comp), back),
	    ZG_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keccak_empty),
		cmocka_unit_test(test_keccak_abc),
		cmocka_unit_test(test_keccak_block_edges),
		cmocka_unit_test(test_keccak_split_updates),
		cmocka_unit_test(test_address_of_eip155_key),
		cmocka_unit_test(test_eip55_examples),
		cmocka_unit_test(test_eip55_bad_checksum),
		cmocka_unit_test(test_address_single_case_accepted),
		cmocka_unit_test(test_address_malformed),
		cmocka_unit_test(test_personal_sign_matches_ethers),
		cmocka_unit_test(test_sign_recover_round_trip),
		cmocka_unit_test(test_normalize_high_s),
		cmocka_unit_test(test_normalize_rejects_other_key),
		cmocka_unit_test(test_recover_rejects_bad_input),
		cmocka_unit_test(test_invalid_private_keys),
		cmocka_unit_test(test_parse_public_compressed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
