/*
 * Unit tests for Ethereum transactions (parse, signing hash, signed
 * encoding), EIP-191 message requests and ERC-20 calldata.
 *
 * The cross-check signs random transactions of all three types and has
 * ethers 6.17.0 (tests/js/check_tx.js) parse them and recover the sender.
 * It needs node and finds the script under $ZGUARD_SOURCE_DIR, which
 * ctest sets; without either it is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/codec.h"
#include "chain/chain.h"
#include "crypto/secp256k1.h"

#define RANDOM_TXS 120

static json_t *
load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	if (j == NULL)
		print_error("bad test JSON: %s\n", jerr.text);
	assert_non_null(j);
	return j;
}

static void
hex_of(const uint8_t *p, size_t n, char *out)
{
	out[0] = '0';
	out[1] = 'x';
	zg_hex_encode(p, n, out + 2);
}

/*
 * EIP-155's example: private key 0x46...46, nonce 9, gasPrice 20 gwei,
 * gas 21000, to 0x35...35, value 1 ether, chain id 1. The signing hash
 * and the signed transaction are the ones EIP-155 publishes.
 */
static void
test_tx_eip155_example(void **state)
{
	static const char want_raw[] =
	    "0xf86c098504a817c800825208943535353535353535353535353535353535353535"
	    "880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c"
	    "71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc"
	    "64214b297fb1966a3b6d83";
	json_t *req = load("{\"type\": 0, \"chainId\": 1, \"nonce\": 9, "
	    "\"gasPrice\": \"20000000000\", \"gas\": 21000, "
	    "\"to\": \"0x3535353535353535353535353535353535353535\", "
	    "\"value\": \"1000000000000000000\", \"data\": \"0x\"}");
	uint8_t priv[32], digest[32], sig[64], hash[32];
	char got[300], digest_hex[67];
	int recid;
	zg_tx tx;
	zg_errmsg em = {0};
	zg_buf raw = ZG_BUF_INIT;

	memset(priv, 0x46, sizeof(priv));
	assert_int_equal(zg_tx_parse(req, &tx, &em), ZG_OK);
	assert_int_equal(zg_tx_signing_hash(&tx, digest), ZG_OK);
	hex_of(digest, 32, digest_hex);
	assert_string_equal(digest_hex, "0xdaf5a779ae972f972197303d7b574746c7ef83"
	    "eadac0f2791ad23db92e4c8e53");
	assert_int_equal(zg_secp_sign(priv, digest, sig, &recid), ZG_OK);
	assert_int_equal(zg_tx_encode_signed(&tx, sig, recid, &raw, hash), ZG_OK);
	hex_of(raw.data, raw.len, got);
	assert_string_equal(got, want_raw);

	zg_buf_free(&raw);
	zg_tx_free(&tx);
	json_decref(req);
}

static void
check_bad_tx(const char *json, const char *fragment)
{
	json_t *req = load(json);
	zg_tx tx;
	zg_errmsg em = {0};
	print_message("request %s\n", json);
	assert_int_equal(zg_tx_parse(req, &tx, &em), ZG_ERR_INVALID);
	print_message("message %s\n", em.text);
	assert_non_null(strstr(em.text, fragment));
	assert_null(tx.data);
	assert_null(tx.access_list);
	json_decref(req);
}

#define BASE0 "\"type\": 0, \"nonce\": 0, \"gas\": 21000, \"gasPrice\": 1"
#define BASE2 "\"type\": 2, \"chainId\": 1, \"nonce\": 0, \"gas\": 21000, " \
    "\"maxFeePerGas\": 2, \"maxPriorityFeePerGas\": 1"

static void
test_tx_rejects_bad_integers(void **state)
{
	check_bad_tx("{" BASE0 ", \"chainId\": 0}", "chainId");
	check_bad_tx("{" BASE0 ", \"chainId\": \"0x0\"}", "at least 1");
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"value\": -1}", "negative");
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"value\": \"-5\"}", "\"value\"");
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"value\": \"0x1"
	    "0000000000000000000000000000000000000000000000000000000000000000\"}",
	    "2^256-1");
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"value\": 1.5}", "integer");
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"value\": \"0x\"}", "hex digits");
	check_bad_tx("{" BASE0 ", \"chainId\": \"0xffffffffffffffffffffffffffff"
	    "ffffffffffffffffffffffffffffffffffff\"}", "256 bits");
	check_bad_tx("{\"type\": 3, \"chainId\": 1, \"nonce\": 0, \"gas\": 1}",
	    "\"type\"");
}

static void
test_tx_rejects_bad_to(void **state)
{
	/* 19 bytes */
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"to\": "
	    "\"0x35353535353535353535353535353535353535\"}", "40 hex digits");
	/* Mixed case with one letter flipped from the EIP-55 form of
	 * 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed. */
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"to\": "
	    "\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD\"}", "EIP-55");
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"to\": 5}", "string");
}

static void
test_tx_rejects_bad_data(void **state)
{
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"data\": \"a9059cbb\"}", "0x");
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"data\": \"0xa9059cb\"}", "even");
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"data\": \"0xhello\"}", "hex");
}

static void
test_tx_rejects_wrong_fields(void **state)
{
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"from\": \"0x00\"}",
	    "unknown field \"from\"");
	check_bad_tx("{" BASE0 "}", "missing required field \"chainId\"");
	check_bad_tx("{" BASE2 ", \"gasPrice\": 1}", "not allowed");
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"maxFeePerGas\": 1}",
	    "not allowed");
	check_bad_tx("{" BASE0 ", \"chainId\": 1, \"accessList\": []}",
	    "not allowed");
	check_bad_tx("{\"type\": 2, \"chainId\": 1, \"nonce\": 0, \"gas\": 1, "
	    "\"maxFeePerGas\": 1, \"maxPriorityFeePerGas\": 2}", "must not exceed");
	check_bad_tx("{" BASE2 ", \"accessList\": [{\"address\": "
	    "\"0x3535353535353535353535353535353535353535\", \"storageKeys\": "
	    "[\"0x01\"]}]}", "32 bytes");
	check_bad_tx("{" BASE2 ", \"accessList\": [{\"address\": "
	    "\"0x3535353535353535353535353535353535353535\", \"storageKeys\": [], "
	    "\"x\": 1}]}", "unknown field \"x\"");
}

/* A contract creation with no "to" and a 2^40 chain id parses as such. */
static void
test_tx_contract_creation(void **state)
{
	json_t *req = load("{" BASE0 ", \"chainId\": \"1099511627776\", "
	    "\"to\": null, \"data\": \"0x6000\"}");
	zg_tx tx;
	zg_errmsg em = {0};
	uint64_t chain;
	assert_int_equal(zg_tx_parse(req, &tx, &em), ZG_OK);
	assert_false(tx.has_to);
	assert_int_equal(tx.data_len, 2);
	assert_true(zg_u256_to_u64(&tx.chain_id, &chain));
	assert_int_equal(chain, 1099511627776ULL);
	assert_ptr_equal(zg_tx_fee_cap(&tx), &tx.gas_price);
	zg_tx_free(&tx);
	json_decref(req);
}

/* ---- cross-check with ethers ---- */

static void
rand_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rand();
}

/* A random integer of up to max_bytes bytes, as decimal or hex text. */
static json_t *
rand_int(size_t max_bytes)
{
	uint8_t be[32] = {0};
	size_t n = (size_t)rand() % (max_bytes + 1);
	char text[80];
	zg_u256 v;
	rand_bytes(be + 32 - n, n);
	zg_u256_from_be(&v, be, 32);
	if (rand() % 2) {
		zg_u256_to_dec(&v, text);
	} else {
		hex_of(be, 32, text);
	}
	return json_string(text);
}

static json_t *
rand_access_list(void)
{
	json_t *list = json_array();
	int n = rand() % 4;
	for (int i = 0; i < n; i++) {
		uint8_t addr[20], key[32];
		char hex[67];
		json_t *keys = json_array();
		rand_bytes(addr, 20);
		hex_of(addr, 20, hex);
		int nk = rand() % 4;
		for (int k = 0; k < nk; k++) {
			rand_bytes(key, 32);
			char kh[67];
			hex_of(key, 32, kh);
			json_array_append_new(keys, json_string(kh));
		}
		json_array_append_new(list, json_pack("{s:s, s:o}", "address",
		    hex, "storageKeys", keys));
	}
	return list;
}

static json_t *
rand_request(int type, const char *chain_id)
{
	json_t *req = json_pack("{s:i, s:s, s:I, s:o, s:o}", "type", type,
	    "chainId", chain_id, "nonce", (json_int_t)(rand() % 100000),
	    "gas", rand_int(4), "value", rand_int(32));
	if (type == 2) {
		/* The priority fee must not exceed the fee cap. */
		json_object_set_new(req, "maxFeePerGas", json_string(
		    "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
		    "ffffffff"));
		json_object_set_new(req, "maxPriorityFeePerGas", rand_int(16));
	} else {
		json_object_set_new(req, "gasPrice", rand_int(32));
	}
	if (rand() % 3 != 0) {
		uint8_t to[20];
		char hex[43];
		rand_bytes(to, 20);
		zg_eth_address_hex(to, hex);
		json_object_set_new(req, "to", json_string(hex));
	}
	uint8_t data[200];
	char data_hex[403];
	size_t n = (size_t)rand() % sizeof(data);
	if (rand() % 4 == 0)
		n = 0;
	rand_bytes(data, n);
	hex_of(data, n, data_hex);
	json_object_set_new(req, "data", json_string(data_hex));
	if (type != 0)
		json_object_set_new(req, "accessList", rand_access_list());
	return req;
}

static const char *
dec(const zg_u256 *v, char out[ZG_U256_DEC_LEN])
{
	zg_u256_to_dec(v, out);
	return out;
}

/* Compares ethers' reading of one transaction with what zguard signed. */
static void
compare_with_ethers(const zg_tx *tx, const json_t *got, const char *hash_hex,
    const char *digest_hex)
{
	char d[ZG_U256_DEC_LEN], hex[500];
	json_t *e = json_object_get(got, "error");
	if (e != NULL)
		print_error("ethers rejected it: %s\n", json_string_value(e));
	assert_null(e);
	assert_int_equal(json_integer_value(json_object_get(got, "type")),
	    tx->type);
	assert_string_equal(json_string_value(json_object_get(got, "chainId")),
	    dec(&tx->chain_id, d));
	assert_string_equal(json_string_value(json_object_get(got, "nonce")),
	    dec(&tx->nonce, d));
	assert_string_equal(json_string_value(json_object_get(got, "gasLimit")),
	    dec(&tx->gas, d));
	assert_string_equal(json_string_value(json_object_get(got, "value")),
	    dec(&tx->value, d));
	if (tx->type == 2) {
		assert_string_equal(json_string_value(json_object_get(got,
		    "maxFeePerGas")), dec(&tx->max_fee_per_gas, d));
		assert_string_equal(json_string_value(json_object_get(got,
		    "maxPriorityFeePerGas")), dec(&tx->max_priority_fee_per_gas,
		    d));
	} else {
		assert_string_equal(json_string_value(json_object_get(got,
		    "gasPrice")), dec(&tx->gas_price, d));
	}
	if (tx->has_to) {
		hex_of(tx->to, 20, hex);
		assert_string_equal(json_string_value(json_object_get(got, "to")),
		    hex);
	} else {
		assert_true(json_is_null(json_object_get(got, "to")));
	}
	hex_of(tx->data, tx->data_len, hex);
	assert_string_equal(json_string_value(json_object_get(got, "data")), hex);
	if (tx->type != 0) {
		json_t *al = json_object_get(got, "accessList");
		assert_int_equal(json_array_size(al), tx->access_len);
		for (size_t i = 0; i < tx->access_len; i++) {
			json_t *entry = json_array_get(al, i);
			json_t *keys = json_object_get(entry, "storageKeys");
			hex_of(tx->access_list[i].address, 20, hex);
			assert_string_equal(json_string_value(json_object_get(entry,
			    "address")), hex);
			assert_int_equal(json_array_size(keys),
			    tx->access_list[i].nkeys);
			for (size_t k = 0; k < tx->access_list[i].nkeys; k++) {
				hex_of(tx->access_list[i].storage_keys[k], 32, hex);
				assert_string_equal(json_string_value(
				    json_array_get(keys, k)), hex);
			}
		}
	}
	assert_true(json_is_true(json_object_get(got, "fromMatches")));
	assert_string_equal(json_string_value(json_object_get(got, "hash")),
	    hash_hex);
	assert_string_equal(json_string_value(json_object_get(got,
	    "unsignedHash")), digest_hex);
}

static bool
have_node(void)
{
	return system("node --version >/dev/null 2>&1") == 0;
}

static void
test_tx_ethers_cross_check(void **state)
{
	static const char *const chain_ids[] = {"1", "1337", "1099511627776",
	    "0x10000000000000000000000000"};
	const char *root = getenv("ZGUARD_SOURCE_DIR");
	char in_path[] = "/tmp/zg_chain_tx_XXXXXX";
	char cmd[1024];
	zg_tx txs[RANDOM_TXS];
	char hashes[RANDOM_TXS][67], digests[RANDOM_TXS][67];
	uint8_t priv[32], pub[65], addr[20];
	char from[43];

	if (root == NULL || !have_node()) {
		print_message("skipped: needs node and ZGUARD_SOURCE_DIR\n");
		skip();
	}
	unsigned seed = (unsigned)time(NULL);
	printf("seed %u\n", seed);
	srand(seed);

	assert_int_equal(zg_secp_keygen(priv), ZG_OK);
	assert_int_equal(zg_secp_public(priv, pub), ZG_OK);
	zg_eth_address(pub, addr);
	zg_eth_address_hex(addr, from);

	int fd = mkstemp(in_path);
	assert_true(fd >= 0);
	FILE *in = fdopen(fd, "w");
	assert_non_null(in);
	for (int i = 0; i < RANDOM_TXS; i++) {
		int type = i % 3;
		const char *chain = chain_ids[(size_t)rand() %
		    (sizeof(chain_ids) / sizeof(chain_ids[0]))];
		json_t *req = rand_request(type, chain);
		zg_errmsg em = {0};
		uint8_t digest[32], sig[64], hash[32];
		int recid;
		zg_buf raw = ZG_BUF_INIT;

		if (zg_tx_parse(req, &txs[i], &em) != ZG_OK)
			print_error("parse failed: %s\n", em.text);
		assert_int_equal(em.code, ZG_OK);
		assert_int_equal(zg_tx_signing_hash(&txs[i], digest), ZG_OK);
		assert_int_equal(zg_secp_sign(priv, digest, sig, &recid), ZG_OK);
		assert_int_equal(zg_tx_encode_signed(&txs[i], sig, recid, &raw,
		    hash), ZG_OK);
		hex_of(hash, 32, hashes[i]);
		hex_of(digest, 32, digests[i]);

		char *raw_hex = malloc(2 * raw.len + 3);
		assert_non_null(raw_hex);
		hex_of(raw.data, raw.len, raw_hex);
		fprintf(in, "{\"raw\": \"%s\", \"from\": \"%s\"}\n", raw_hex, from);
		free(raw_hex);
		zg_buf_free(&raw);
		json_decref(req);
	}
	fclose(in);

	snprintf(cmd, sizeof(cmd), "node '%s/tests/js/check_tx.js' < '%s'", root,
	    in_path);
	FILE *out = popen(cmd, "r");
	assert_non_null(out);
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	while (getline(&line, &cap, out) > 0 && n < RANDOM_TXS) {
		json_t *got = load(line);
		print_message("transaction %d\n", n);
		compare_with_ethers(&txs[n], got, hashes[n], digests[n]);
		json_decref(got);
		n++;
	}
	free(line);
	assert_int_equal(pclose(out), 0);
	assert_int_equal(n, RANDOM_TXS);
	unlink(in_path);
	for (int i = 0; i < RANDOM_TXS; i++)
		zg_tx_free(&txs[i]);
}

/* ---- EIP-191 messages ---- */

static void
test_message_utf8_and_hex(void **state)
{
	json_t *a = load("{\"message\": \"h\\u00e9llo\"}");
	json_t *b = load("{\"message\": \"0x68c3a96c6c6f\", \"encoding\": \"hex\"}");
	uint8_t *ma, *mb;
	size_t la, lb;
	zg_errmsg em = {0};
	assert_int_equal(zg_eth_message_parse(a, &ma, &la, &em), ZG_OK);
	assert_int_equal(zg_eth_message_parse(b, &mb, &lb, &em), ZG_OK);
	assert_int_equal(la, 6);
	assert_int_equal(lb, 6);
	assert_memory_equal(ma, mb, 6);
	free(ma);
	free(mb);
	json_decref(a);
	json_decref(b);
}

static void
check_bad_message(const char *json, const char *fragment)
{
	json_t *req = load(json);
	uint8_t *m;
	size_t n;
	zg_errmsg em = {0};
	assert_int_equal(zg_eth_message_parse(req, &m, &n, &em), ZG_ERR_INVALID);
	assert_null(m);
	assert_non_null(strstr(em.text, fragment));
	json_decref(req);
}

static void
test_message_rejects_bad_input(void **state)
{
	check_bad_message("{\"message\": \"abc\", \"encoding\": \"hex\"}", "0x");
	check_bad_message("{\"message\": \"0xabc\", \"encoding\": \"hex\"}",
	    "even");
	check_bad_message("{\"message\": \"x\", \"encoding\": \"base64\"}",
	    "\"utf8\" or \"hex\"");
	check_bad_message("{\"msg\": \"x\"}", "unknown field");
	check_bad_message("{}", "missing required field \"message\"");
}

/* ---- ERC-20 calldata ---- */

static size_t
calldata(const char *hex, uint8_t *out, size_t outsz)
{
	size_t n;
	assert_int_equal(zg_hex_decode(hex, strlen(hex), out, outsz, &n), ZG_OK);
	return n;
}

#define WORD_ADDR35 "0000000000000000000000003535353535353535353535353535353535353535"
#define WORD_ADDR46 "0000000000000000000000004646464646464646464646464646464646464646"
#define WORD_1000 "00000000000000000000000000000000000000000000000000000000000003e8"

static void
test_erc20_transfer(void **state)
{
	uint8_t data[200];
	zg_erc20_call call;
	size_t n = calldata("a9059cbb" WORD_ADDR35 WORD_1000, data, sizeof(data));
	assert_int_equal(zg_erc20_decode(data, n, &call), ZG_OK);
	assert_int_equal(call.kind, ZG_ERC20_TRANSFER);
	assert_int_equal(call.target[0], 0x35);
	assert_int_equal(call.amount.w[0], 1000);
	assert_false(call.trailing_data);
}

static void
test_erc20_approve_and_transfer_from(void **state)
{
	uint8_t data[200];
	zg_erc20_call call;
	size_t n = calldata("095ea7b3" WORD_ADDR46 WORD_1000 "00", data,
	    sizeof(data));
	assert_int_equal(zg_erc20_decode(data, n, &call), ZG_OK);
	assert_int_equal(call.kind, ZG_ERC20_APPROVE);
	assert_int_equal(call.target[19], 0x46);
	assert_true(call.trailing_data);

	n = calldata("23b872dd" WORD_ADDR46 WORD_ADDR35 WORD_1000, data,
	    sizeof(data));
	assert_int_equal(zg_erc20_decode(data, n, &call), ZG_OK);
	assert_int_equal(call.kind, ZG_ERC20_TRANSFER_FROM);
	assert_int_equal(call.from[0], 0x46);
	assert_int_equal(call.target[0], 0x35);
	assert_int_equal(call.amount.w[0], 1000);
}

static void
test_erc20_malformed_and_other(void **state)
{
	uint8_t data[200];
	zg_erc20_call call;
	size_t n = calldata("a9059cbb" WORD_ADDR35, data, sizeof(data));
	assert_int_equal(zg_erc20_decode(data, n, &call), ZG_ERR_INVALID);
	n = calldata("a9059cbb"
	    "ff00000000000000000000003535353535353535353535353535353535353535"
	    WORD_1000, data, sizeof(data));
	assert_int_equal(zg_erc20_decode(data, n, &call), ZG_ERR_INVALID);
	n = calldata("deadbeef" WORD_ADDR35 WORD_1000, data, sizeof(data));
	assert_int_equal(zg_erc20_decode(data, n, &call), ZG_OK);
	assert_int_equal(call.kind, ZG_ERC20_NONE);
	assert_int_equal(zg_erc20_decode(data, 3, &call), ZG_OK);
	assert_int_equal(call.kind, ZG_ERC20_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_eip155_example),
		cmocka_unit_test(test_tx_rejects_bad_integers),
		cmocka_unit_test(test_tx_rejects_bad_to),
		cmocka_unit_test(test_tx_rejects_bad_data),
		cmocka_unit_test(test_tx_rejects_wrong_fields),
		cmocka_unit_test(test_tx_contract_creation),
		cmocka_unit_test(test_tx_ethers_cross_check),
		cmocka_unit_test(test_message_utf8_and_hex),
		cmocka_unit_test(test_message_rejects_bad_input),
		cmocka_unit_test(test_erc20_transfer),
		cmocka_unit_test(test_erc20_approve_and_transfer_from),
		cmocka_unit_test(test_erc20_malformed_and_other),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
