/*
 * Unit tests for RLP encoding and canonical decoding, 256-bit integers
 * from JSON, and the "0x" hex helpers of src/chain.
 *
 * The RLP vectors are the examples of ethereum.org's RLP page: "dog",
 * ["cat", "dog"], the empty string and list, 0, 15, 1024, the set
 * representation of three and the 56-byte "Lorem ipsum" string. Each was
 * also checked with ethers 6.17.0 encodeRlp.
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
#include "chain/chain.h"

static void
to_hex(const zg_buf *b, char *out)
{
	zg_hex_encode(b->data, b->len, out);
}

static void
check_bytes(const char *s, const char *want)
{
	zg_buf b = ZG_BUF_INIT;
	char got[256];
	assert_int_equal(zg_rlp_put_bytes(&b, (const uint8_t *)s, strlen(s)),
	    ZG_OK);
	to_hex(&b, got);
	assert_string_equal(got, want);
	zg_buf_free(&b);
}

static void
check_u64(uint64_t v, const char *want)
{
	zg_buf b = ZG_BUF_INIT;
	char got[64];
	assert_int_equal(zg_rlp_put_u64(&b, v), ZG_OK);
	to_hex(&b, got);
	assert_string_equal(got, want);
	zg_buf_free(&b);
}

static void
test_rlp_strings(void **state)
{
	check_bytes("dog", "83646f67");
	check_bytes("", "80");
	check_bytes("\x0f", "0f");
	check_bytes("Lorem ipsum dolor sit amet, consectetur adipisicing elit",
	    "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f"
	    "6e7365637465747572206164697069736963696e6720656c6974");
}

static void
test_rlp_integers(void **state)
{
	check_u64(0, "80");
	check_u64(15, "0f");
	check_u64(127, "7f");
	check_u64(128, "8180");
	check_u64(1024, "820400");
	check_u64(UINT64_MAX, "88ffffffffffffffff");
}

static void
test_rlp_lists(void **state)
{
	zg_buf inner = ZG_BUF_INIT, out = ZG_BUF_INIT;
	char got[64];

	assert_int_equal(zg_rlp_put_bytes(&inner, (const uint8_t *)"cat", 3),
	    ZG_OK);
	assert_int_equal(zg_rlp_put_bytes(&inner, (const uint8_t *)"dog", 3),
	    ZG_OK);
	assert_int_equal(zg_rlp_put_list(&out, &inner), ZG_OK);
	to_hex(&out, got);
	assert_string_equal(got, "c88363617483646f67");
	zg_buf_free(&out);
	zg_buf_free(&inner);

	/* [ [], [[]], [ [], [[]] ] ] */
	zg_buf e = ZG_BUF_INIT, l1 = ZG_BUF_INIT, l2 = ZG_BUF_INIT,
	    top = ZG_BUF_INIT;
	assert_int_equal(zg_rlp_put_list(&l1, &e), ZG_OK);      /* [[]] body */
	assert_int_equal(zg_rlp_put_list(&l2, &e), ZG_OK);      /* [] */
	assert_int_equal(zg_rlp_put_list(&l2, &l1), ZG_OK);     /* [[]] */
	assert_int_equal(zg_rlp_put_list(&top, &e), ZG_OK);
	assert_int_equal(zg_rlp_put_list(&top, &l1), ZG_OK);
	assert_int_equal(zg_rlp_put_list(&top, &l2), ZG_OK);
	assert_int_equal(zg_rlp_put_list(&out, &top), ZG_OK);
	to_hex(&out, got);
	assert_string_equal(got, "c7c0c1c0c3c0c1c0");
	zg_buf_free(&e);
	zg_buf_free(&l1);
	zg_buf_free(&l2);
	zg_buf_free(&top);
	zg_buf_free(&out);
}

static void
test_rlp_long_list_header(void **state)
{
	zg_buf b = ZG_BUF_INIT;
	char got[16];
	assert_int_equal(zg_rlp_put_list_header(&b, 56), ZG_OK);
	to_hex(&b, got);
	assert_string_equal(got, "f838");
	b.len = 0;
	assert_int_equal(zg_rlp_put_list_header(&b, 1024), ZG_OK);
	to_hex(&b, got);
	assert_string_equal(got, "f90400");
	zg_buf_free(&b);
}

static zg_err
decode_hex(const char *hex, zg_rlp_item *item)
{
	static uint8_t buf[512];
	size_t n;
	assert_int_equal(zg_hex_decode(hex, strlen(hex), buf, sizeof(buf), &n),
	    ZG_OK);
	return zg_rlp_decode_one(buf, n, item);
}

static void
test_rlp_decode_list(void **state)
{
	zg_rlp_item list, item;
	assert_int_equal(decode_hex("c88363617483646f67", &list), ZG_OK);
	assert_true(list.is_list);
	assert_int_equal(list.len, 8);

	const uint8_t *p = list.data;
	size_t left = list.len;
	assert_int_equal(zg_rlp_next(&p, &left, &item), ZG_OK);
	assert_false(item.is_list);
	assert_memory_equal(item.data, "cat", 3);
	assert_int_equal(zg_rlp_next(&p, &left, &item), ZG_OK);
	assert_memory_equal(item.data, "dog", 3);
	assert_int_equal(zg_rlp_next(&p, &left, &item), ZG_ERR_NOT_FOUND);
}

static void
test_rlp_decode_long_string(void **state)
{
	zg_rlp_item item;
	assert_int_equal(decode_hex("b8384c6f72656d20697073756d20646f6c6f7220"
	    "73697420616d65742c20636f6e7365637465747572206164697069736963696e"
	    "6720656c6974", &item), ZG_OK);
	assert_int_equal(item.len, 56);
	assert_memory_equal(item.data, "Lorem", 5);
}

static void
test_rlp_rejects_noncanonical(void **state)
{
	static const char *const bad[] = {
		"",             /* no item */
		"8100",         /* byte below 0x80 wrapped as a string */
		"817f",         /* the same for 0x7f */
		"b80100",       /* long form for a 1-byte string */
		"b837" "00",    /* long form for 55 bytes, and truncated */
		"b90038",       /* length with a leading zero byte */
		"f800",         /* long form list of length 0 */
		"83646f",       /* string longer than the input */
		"c883636174",   /* list longer than the input */
		"b9",           /* length bytes missing */
		"83646f6700",   /* trailing byte after the item */
	};
	zg_rlp_item item;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("input %s\n", bad[i]);
		if (bad[i][0] == '\0') {
			assert_int_equal(zg_rlp_decode_one(NULL, 0, &item),
			    ZG_ERR_INVALID);
			continue;
		}
		assert_int_equal(decode_hex(bad[i], &item), ZG_ERR_INVALID);
	}
}

static void
test_rlp_integer_leading_zero(void **state)
{
	zg_rlp_item item;
	zg_u256 v;
	assert_int_equal(decode_hex("820400", &item), ZG_OK);
	assert_int_equal(zg_rlp_item_u256(&item, &v), ZG_OK);
	assert_int_equal(v.w[0], 1024);
	assert_int_equal(decode_hex("820004", &item), ZG_OK);
	assert_int_equal(zg_rlp_item_u256(&item, &v), ZG_ERR_INVALID);
	/* 0x00 is a canonical byte string but not a canonical integer. */
	assert_int_equal(decode_hex("00", &item), ZG_OK);
	assert_int_equal(zg_rlp_item_u256(&item, &v), ZG_ERR_INVALID);
	assert_int_equal(decode_hex("80", &item), ZG_OK);
	assert_int_equal(zg_rlp_item_u256(&item, &v), ZG_OK);
	assert_true(zg_u256_is_zero(&v));
	assert_int_equal(decode_hex("c0", &item), ZG_OK);
	assert_int_equal(zg_rlp_item_u256(&item, &v), ZG_ERR_INVALID);
}

/* Random byte strings and lists survive encode then decode. */
static void
test_rlp_round_trip_random(void **state)
{
	unsigned seed = (unsigned)time(NULL);
	printf("seed %u\n", seed);
	srand(seed);
	for (int run = 0; run < 300; run++) {
		uint8_t data[300];
		size_t n = (size_t)rand() % sizeof(data);
		if (rand() % 4 == 0)
			n = (size_t)rand() % 3;
		for (size_t i = 0; i < n; i++)
			data[i] = (uint8_t)rand();
		zg_buf s = ZG_BUF_INIT, l = ZG_BUF_INIT;
		zg_rlp_item item, inner;
		assert_int_equal(zg_rlp_put_bytes(&s, data, n), ZG_OK);
		assert_int_equal(zg_rlp_put_list(&l, &s), ZG_OK);
		assert_int_equal(zg_rlp_decode_one(l.data, l.len, &item), ZG_OK);
		assert_true(item.is_list);
		assert_int_equal(zg_rlp_decode_one(item.data, item.len, &inner),
		    ZG_OK);
		assert_false(inner.is_list);
		assert_int_equal(inner.len, n);
		if (n > 0)
			assert_memory_equal(inner.data, data, n);
		zg_buf_free(&s);
		zg_buf_free(&l);
	}
}

static zg_err
u256_of(const char *json, zg_u256 *v, zg_errmsg *em)
{
	json_error_t jerr;
	json_t *j = json_loads(json, JSON_DECODE_ANY, &jerr);
	assert_non_null(j);
	zg_err err = zg_u256_from_json(j, "value", v, em);
	json_decref(j);
	return err;
}

static void
check_dec(const char *json, const char *want)
{
	zg_u256 v;
	zg_errmsg em = {0};
	char dec[ZG_U256_DEC_LEN];
	assert_int_equal(u256_of(json, &v, &em), ZG_OK);
	zg_u256_to_dec(&v, dec);
	assert_string_equal(dec, want);
}

static void
test_u256_accepted_forms(void **state)
{
	check_dec("\"0\"", "0");
	check_dec("\"1000000000000000000\"", "1000000000000000000");
	check_dec("\"0x0de0b6b3a7640000\"", "1000000000000000000");
	check_dec("\"0x0\"", "0");
	check_dec("\"0XfF\"", "255");
	check_dec("9007199254740991", "9007199254740991");
	check_dec("\"115792089237316195423570985008687907853269984665640564039"
	    "457584007913129639935\"",
	    "115792089237316195423570985008687907853269984665640564039457584"
	    "007913129639935");
	check_dec("\"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	    "ffffffff\"",
	    "115792089237316195423570985008687907853269984665640564039457584"
	    "007913129639935");
	check_dec("\"0x000000000000000000000000000000000000000000000000000000000"
	    "000000000000000001\"", "1");
}

static void
check_rejected(const char *json, const char *fragment)
{
	zg_u256 v;
	zg_errmsg em = {0};
	print_message("input %s\n", json);
	assert_int_equal(u256_of(json, &v, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, fragment));
	assert_non_null(strstr(em.text, "\"value\""));
}

static void
test_u256_rejected_forms(void **state)
{
	check_rejected("\"-1\"", "negative");
	check_rejected("-1", "negative");
	check_rejected("1.5", "integer");
	check_rejected("9007199254740992", "2^53");
	check_rejected("\"0x\"", "hex digits");
	check_rejected("\"\"", "empty");
	check_rejected("\"12a\"", "decimal");
	check_rejected("\"0x12g\"", "decimal");
	check_rejected("\" 1\"", "decimal");
	check_rejected("true", "integer");
	check_rejected("\"115792089237316195423570985008687907853269984665640564"
	    "039457584007913129639936\"", "2^256-1");
	check_rejected("\"0x1000000000000000000000000000000000000000000000000000"
	    "0000000000000\"", "2^256-1");
}

static void
test_u256_message_quotes_value(void **state)
{
	zg_u256 v;
	zg_errmsg em = {0};
	assert_int_equal(u256_of("\"12abc\"", &v, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "12abc"));
}

static void
test_u256_add_sub_overflow(void **state)
{
	zg_u256 max, one, r;
	zg_errmsg em = {0};
	assert_int_equal(zg_u256_parse("0xffffffffffffffffffffffffffffffffffff"
	    "ffffffffffffffffffffffffffff", "max", &max, &em), ZG_OK);
	zg_u256_from_u64(&one, 1);
	assert_true(zg_u256_add(&r, &max, &one));
	assert_true(zg_u256_is_zero(&r));
	assert_false(zg_u256_add(&r, &one, &one));
	assert_int_equal(r.w[0], 2);
	assert_false(zg_u256_sub(&r, &max, &one));
	assert_int_equal(zg_u256_cmp(&r, &max), -1);
	assert_true(zg_u256_sub(&r, &one, &max));
	assert_int_equal(r.w[0], 2);
	assert_true(zg_u256_mul_u64(&r, &max, 2));
	assert_false(zg_u256_mul_u64(&r, &one, 2));
}

/* Carries across every limb boundary agree with decimal arithmetic. */
static void
test_u256_carry_across_limbs(void **state)
{
	zg_u256 a, b, r;
	zg_errmsg em = {0};
	char dec[ZG_U256_DEC_LEN];
	/* 2^192 - 1 plus 1 is 2^192. */
	assert_int_equal(zg_u256_parse("0xffffffffffffffffffffffffffffffffffff"
	    "ffffffffffff", "a", &a, &em), ZG_OK);
	zg_u256_from_u64(&b, 1);
	assert_false(zg_u256_add(&r, &a, &b));
	zg_u256_to_dec(&r, dec);
	assert_string_equal(dec,
	    "6277101735386680763835789423207666416102355444464034512896");
	assert_false(zg_u256_sub(&r, &r, &b));
	assert_int_equal(zg_u256_cmp(&r, &a), 0);
}

static void
test_u256_be_round_trip(void **state)
{
	zg_u256 v, back;
	zg_errmsg em = {0};
	uint8_t be[32], min[32];
	assert_int_equal(zg_u256_parse("0x0102030405060708090a0b0c0d0e0f10111213"
	    "1415161718191a1b1c1d1e1f20", "v", &v, &em), ZG_OK);
	zg_u256_to_be(&v, be);
	for (int i = 0; i < 32; i++)
		assert_int_equal(be[i], i + 1);
	assert_int_equal(zg_u256_from_be(&back, be, 32), ZG_OK);
	assert_int_equal(zg_u256_cmp(&v, &back), 0);
	zg_u256_from_u64(&v, 0x0400);
	assert_int_equal(zg_u256_to_be_min(&v, min), 2);
	assert_int_equal(min[0], 4);
	zg_u256_from_u64(&v, 0);
	assert_int_equal(zg_u256_to_be_min(&v, min), 0);
	assert_int_equal(zg_u256_from_be(&back, be, 33), ZG_ERR_INVALID);
}

static void
test_hex_decode_rules(void **state)
{
	uint8_t *b = NULL;
	size_t n = 0;
	uint8_t fixed[2];
	zg_errmsg em = {0};
	assert_int_equal(zg_chain_hex_decode("0x", "data", &b, &n, &em), ZG_OK);
	assert_null(b);
	assert_int_equal(n, 0);
	assert_int_equal(zg_chain_hex_decode("0xA9059cbb", "data", &b, &n, &em),
	    ZG_OK);
	assert_int_equal(n, 4);
	assert_int_equal(b[0], 0xa9);
	free(b);
	assert_int_equal(zg_chain_hex_decode("a9059cbb", "data", &b, &n, &em),
	    ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "\"0x\""));
	assert_int_equal(zg_chain_hex_decode("0xabc", "data", &b, &n, &em),
	    ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "even"));
	assert_int_equal(zg_chain_hex_decode("0xzz", "data", &b, &n, &em),
	    ZG_ERR_INVALID);
	assert_int_equal(zg_chain_hex_decode_fixed("0x0102", "k", fixed, 2, &em),
	    ZG_OK);
	assert_int_equal(zg_chain_hex_decode_fixed("0x010203", "k", fixed, 2,
	    &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "2 bytes"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rlp_strings),
		cmocka_unit_test(test_rlp_integers),
		cmocka_unit_test(test_rlp_lists),
		cmocka_unit_test(test_rlp_long_list_header),
		cmocka_unit_test(test_rlp_decode_list),
		cmocka_unit_test(test_rlp_decode_long_string),
		cmocka_unit_test(test_rlp_rejects_noncanonical),
		cmocka_unit_test(test_rlp_integer_leading_zero),
		cmocka_unit_test(test_rlp_round_trip_random),
		cmocka_unit_test(test_u256_accepted_forms),
		cmocka_unit_test(test_u256_rejected_forms),
		cmocka_unit_test(test_u256_message_quotes_value),
		cmocka_unit_test(test_u256_add_sub_overflow),
		cmocka_unit_test(test_u256_carry_across_limbs),
		cmocka_unit_test(test_u256_be_round_trip),
		cmocka_unit_test(test_hex_decode_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
