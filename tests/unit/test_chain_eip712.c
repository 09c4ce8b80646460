/*
 * Unit tests for EIP-712 typed-data hashing.
 *
 * The "Mail" values are EIP-712's own example: the domain separator,
 * hashStruct(message) and digest below were confirmed with ethers 6.17.0
 * TypedDataEncoder. The cross-check hashes nested documents with ethers
 * (tests/js/check_typed_data.js) at run time; it needs node and
 * $ZGUARD_SOURCE_DIR, which ctest sets, and is skipped without them.
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

#include "base/codec.h"
#include "chain/chain.h"

#define MAIL_TYPES \
	"\"EIP712Domain\": [{\"name\": \"name\", \"type\": \"string\"}, " \
	"{\"name\": \"version\", \"type\": \"string\"}, " \
	"{\"name\": \"chainId\", \"type\": \"uint256\"}, " \
	"{\"name\": \"verifyingContract\", \"type\": \"address\"}], " \
	"\"Person\": [{\"name\": \"name\", \"type\": \"string\"}, " \
	"{\"name\": \"wallet\", \"type\": \"address\"}], " \
	"\"Mail\": [{\"name\": \"from\", \"type\": \"Person\"}, " \
	"{\"name\": \"to\", \"type\": \"Person\"}, " \
	"{\"name\": \"contents\", \"type\": \"string\"}]"

#define MAIL_DOMAIN \
	"{\"name\": \"Ether Mail\", \"version\": \"1\", \"chainId\": 1, " \
	"\"verifyingContract\": \"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\"}"

#define MAIL_MESSAGE \
	"{\"from\": {\"name\": \"Cow\", " \
	"\"wallet\": \"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"}, " \
	"\"to\": {\"name\": \"Bob\", " \
	"\"wallet\": \"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\"}, " \
	"\"contents\": \"Hello, Bob!\"}"

static const char mail_doc[] = "{\"types\": {" MAIL_TYPES "}, "
    "\"primaryType\": \"Mail\", \"domain\": " MAIL_DOMAIN ", "
    "\"message\": " MAIL_MESSAGE "}";

/* Nested structs, arrays of structs, fixed and dynamic arrays, bytes,
 * bytesN, negative integers and a derived domain with a salt. */
static const char *const nested_docs[] = {
	"{\"types\": {"
	"\"Asset\": [{\"name\": \"token\", \"type\": \"address\"}, "
	"{\"name\": \"amount\", \"type\": \"uint256\"}, "
	"{\"name\": \"delta\", \"type\": \"int128\"}], "
	"\"Leg\": [{\"name\": \"assets\", \"type\": \"Asset[]\"}, "
	"{\"name\": \"memo\", \"type\": \"bytes\"}, "
	"{\"name\": \"tag\", \"type\": \"bytes4\"}], "
	"\"Order\": [{\"name\": \"legs\", \"type\": \"Leg[2]\"}, "
	"{\"name\": \"grid\", \"type\": \"uint8[][]\"}, "
	"{\"name\": \"flags\", \"type\": \"bool[3]\"}, "
	"{\"name\": \"owner\", \"type\": \"address\"}, "
	"{\"name\": \"note\", \"type\": \"string\"}, "
	"{\"name\": \"small\", \"type\": \"int8\"}]}, "
	"\"primaryType\": \"Order\", "
	"\"domain\": {\"name\": \"Swap\", \"chainId\": \"0x539\", "
	"\"salt\": \"0x00000000000000000000000000000000000000000000000000000000"
	"0000abcd\"}, "
	"\"message\": {\"legs\": ["
	"{\"assets\": [{\"token\": \"0x3535353535353535353535353535353535353535\", "
	"\"amount\": \"115792089237316195423570985008687907853269984665640564039"
	"457584007913129639935\", \"delta\": \"-170141183460469231731687303715884"
	"105728\"}, {\"token\": \"0x4646464646464646464646464646464646464646\", "
	"\"amount\": \"0x10\", \"delta\": -1}], \"memo\": \"0x\", "
	"\"tag\": \"0xa9059cbb\"}, "
	"{\"assets\": [], \"memo\": \"0x00ff00\", \"tag\": \"0x00000000\"}], "
	"\"grid\": [[1, 2], [], [255]], \"flags\": [true, false, true], "
	"\"owner\": \"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\", "
	"\"note\": \"h\\u00e9llo \\u2603\", \"small\": -128}}",

	/* Only a verifying contract in the domain; an empty string. */
	"{\"types\": {\"Ping\": [{\"name\": \"n\", \"type\": \"uint32\"}, "
	"{\"name\": \"s\", \"type\": \"string\"}]}, \"primaryType\": \"Ping\", "
	"\"domain\": {\"verifyingContract\": "
	"\"0x3535353535353535353535353535353535353535\"}, "
	"\"message\": {\"n\": 4294967295, \"s\": \"\"}}",

	/* A declared domain in ethers' order and a struct shared twice. */
	"{\"types\": {\"EIP712Domain\": [{\"name\": \"name\", \"type\": \"string\"}, "
	"{\"name\": \"version\", \"type\": \"string\"}], "
	"\"Z\": [{\"name\": \"v\", \"type\": \"int256\"}], "
	"\"A\": [{\"name\": \"z\", \"type\": \"Z\"}, "
	"{\"name\": \"zs\", \"type\": \"Z[]\"}, "
	"{\"name\": \"b32\", \"type\": \"bytes32[1]\"}]}, "
	"\"primaryType\": \"A\", \"domain\": {\"name\": \"n\", \"version\": \"2\"}, "
	"\"message\": {\"z\": {\"v\": \"-57896044618658097711785492504343953926"
	"634992332820282019728792003956564819968\"}, \"zs\": [{\"v\": 0}, "
	"{\"v\": \"57896044618658097711785492504343953926634992332820282019728"
	"792003956564819967\"}], \"b32\": [\"0xffffffffffffffffffffffffffffffff"
	"ffffffffffffffffffffffffffffffff\"]}}",
};

static json_t *
load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	if (j == NULL)
		print_error("bad test JSON: %s at column %d\n", jerr.text,
		    jerr.column);
	assert_non_null(j);
	return j;
}

static void
hex_of(const uint8_t h[32], char out[67])
{
	out[0] = '0';
	out[1] = 'x';
	zg_hex_encode(h, 32, out + 2);
}

static void
test_eip712_mail_example(void **state)
{
	json_t *doc = load(mail_doc);
	uint8_t ds[32], mh[32], digest[32];
	char hex[67];
	zg_errmsg em = {0};

	assert_int_equal(zg_eip712_hashes(doc, ds, mh, &em), ZG_OK);
	hex_of(ds, hex);
	assert_string_equal(hex, "0xf2cee375fa42b42143804025fc449deafd50cc031c"
	    "a257e0b194a650a912090f");
	hex_of(mh, hex);
	assert_string_equal(hex, "0xc52c0ee5d84264471806290a3f2c4cecfc5490626b"
	    "f912d01f240d7a274b371e");
	assert_int_equal(zg_eip712_digest(doc, digest, &em), ZG_OK);
	hex_of(digest, hex);
	assert_string_equal(hex, "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20"
	    "f02e86244efddf30957bd2");
	json_decref(doc);
}

/* Without a declared EIP712Domain the derived type gives the same hash. */
static void
test_eip712_derived_domain(void **state)
{
	json_t *doc = load(mail_doc);
	uint8_t a[32], b[32];
	zg_errmsg em = {0};
	assert_int_equal(zg_eip712_digest(doc, a, &em), ZG_OK);
	json_object_del(json_object_get(doc, "types"), "EIP712Domain");
	assert_int_equal(zg_eip712_digest(doc, b, &em), ZG_OK);
	assert_memory_equal(a, b, 32);
	json_decref(doc);
}

static void
check_bad(const char *types, const char *message, const char *fragment)
{
	char text[4096];
	snprintf(text, sizeof(text), "{\"types\": {%s}, \"primaryType\": \"M\", "
	    "\"domain\": {\"name\": \"t\"}, \"message\": %s}", types, message);
	json_t *doc = load(text);
	uint8_t digest[32];
	zg_errmsg em = {0};
	print_message("document %s\n", text);
	assert_int_equal(zg_eip712_digest(doc, digest, &em), ZG_ERR_INVALID);
	print_message("message %s\n", em.text);
	assert_non_null(strstr(em.text, fragment));
	json_decref(doc);
}

#define FIELD(n, t) "{\"name\": \"" n "\", \"type\": \"" t "\"}"

static void
test_eip712_missing_type(void **state)
{
	check_bad("\"M\": [" FIELD("p", "Person") "]", "{\"p\": {}}",
	    "\"Person\"");
	check_bad("\"M\": [" FIELD("p", "uint7") "]", "{\"p\": 1}", "\"uint7\"");
	check_bad("\"M\": [" FIELD("p", "bytes33") "]", "{\"p\": \"0x\"}",
	    "\"bytes33\"");
	check_bad("\"M\": [" FIELD("p", "uint") "]", "{\"p\": 1}", "\"uint\"");
}

static void
test_eip712_type_cycle(void **state)
{
	check_bad("\"M\": [" FIELD("a", "A") "], \"A\": [" FIELD("b", "B[]") "], "
	    "\"B\": [" FIELD("a", "A") "]", "{\"a\": {\"b\": []}}",
	    "A -> B -> A");
	check_bad("\"M\": [" FIELD("self", "M[]") "]", "{\"self\": []}",
	    "M -> M");
}

static void
test_eip712_malformed_types(void **state)
{
	check_bad("\"M\": [" FIELD("a", "uint256[0]") "]", "{\"a\": []}",
	    "malformed array");
	check_bad("\"M\": [" FIELD("a", "uint256[") "]", "{\"a\": []}",
	    "malformed array");
	check_bad("\"M\": [" FIELD("a", "uint8") ", " FIELD("a", "uint8") "]",
	    "{\"a\": 1}", "twice");
	check_bad("\"M\": [{\"name\": \"a\"}]", "{\"a\": 1}",
	    "{\"name\": string");
	check_bad("\"M\": [" FIELD("a", "bool") "], \"uint8\": []", "{\"a\": true}",
	    "not a valid struct type name");
}

static void
test_eip712_value_does_not_fit(void **state)
{
	check_bad("\"M\": [" FIELD("a", "uint8") "]", "{\"a\": 256}",
	    "out of range");
	check_bad("\"M\": [" FIELD("a", "uint8") "]", "{\"a\": -1}",
	    "negative");
	check_bad("\"M\": [" FIELD("a", "uint8") "]", "{\"a\": \"-1\"}",
	    "negative");
	check_bad("\"M\": [" FIELD("a", "int8") "]", "{\"a\": 128}",
	    "out of range");
	check_bad("\"M\": [" FIELD("a", "int8") "]", "{\"a\": \"-129\"}",
	    "out of range");
	check_bad("\"M\": [" FIELD("a", "uint256") "]", "{\"a\": 1.5}",
	    "integer");
	check_bad("\"M\": [" FIELD("a", "bytes4") "]", "{\"a\": \"0xa9059c\"}",
	    "4 bytes");
	check_bad("\"M\": [" FIELD("a", "bytes") "]", "{\"a\": \"0xabc\"}",
	    "even");
	check_bad("\"M\": [" FIELD("a", "bool") "]", "{\"a\": \"true\"}",
	    "true or false");
	check_bad("\"M\": [" FIELD("a", "address") "]", "{\"a\": \"0x35\"}",
	    "40 hex digits");
	check_bad("\"M\": [" FIELD("a", "uint8[2]") "]", "{\"a\": [1]}",
	    "2 elements");
	check_bad("\"M\": [" FIELD("a", "uint8[]") "]", "{\"a\": 1}",
	    "must be an array");
}

/* An integer that does not fit its type is named with the type's range. */
static void
test_eip712_range_named(void **state)
{
	check_bad("\"M\": [" FIELD("a", "uint8") "]", "{\"a\": 256}",
	    "got 256, expected 0 to 2^8-1");
	check_bad("\"M\": [" FIELD("a", "int8") "]", "{\"a\": \"-129\"}",
	    "got \"-129\", expected -2^7 to 2^7-1");
	check_bad("\"M\": [" FIELD("a", "uint32") "]",
	    "{\"a\": \"0x100000000\"}", "\"0x100000000\"");
	check_bad("\"M\": [" FIELD("a", "uint8") "]", "{\"a\": -1}",
	    "got -1");
	check_bad("\"M\": [" FIELD("a", "uint256") "]", "{\"a\": 1.5}",
	    "got 1.5");
	check_bad("\"M\": [" FIELD("a", "uint256") "]", "{\"a\": [1]}",
	    "got an array");
}

static void
test_eip712_unknown_and_missing_fields(void **state)
{
	check_bad("\"M\": [" FIELD("a", "uint8") "]", "{\"a\": 1, \"b\": 2}",
	    "\"b\"");
	check_bad("\"M\": [" FIELD("a", "uint8") ", " FIELD("b", "uint8") "]",
	    "{\"a\": 1}", "missing field \"message.b\"");
	/* The path names the nested value. */
	check_bad("\"M\": [" FIELD("xs", "P[]") "], \"P\": [" FIELD("v", "uint8")
	    "]", "{\"xs\": [{\"v\": 1}, {\"v\": 300}]}", "message.xs[1].v");
}

static void
test_eip712_bad_document(void **state)
{
	static const char *const docs[] = {
		"{\"types\": {}, \"domain\": {}, \"message\": {}}",
		"{\"types\": {\"M\": []}, \"primaryType\": \"N\", \"domain\": {}, "
		"\"message\": {}}",
		"{\"types\": {\"M\": []}, \"primaryType\": \"EIP712Domain\", "
		"\"domain\": {}, \"message\": {}}",
		"{\"types\": {\"M\": []}, \"primaryType\": \"M\", "
		"\"domain\": {\"owner\": \"x\"}, \"message\": {}}",
		"{\"types\": {\"M\": []}, \"primaryType\": \"M\", "
		"\"domain\": {}, \"message\": {}, \"extra\": 1}",
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_t *doc = load(docs[i]);
		uint8_t digest[32];
		zg_errmsg em = {0};
		print_message("document %s\n", docs[i]);
		assert_int_equal(zg_eip712_digest(doc, digest, &em),
		    ZG_ERR_INVALID);
		print_message("message %s\n", em.text);
		json_decref(doc);
	}
}

static void
test_eip712_ethers_cross_check(void **state)
{
	const char *root = getenv("ZGUARD_SOURCE_DIR");
	char in_path[] = "/tmp/zg_chain_712_XXXXXX";
	char cmd[1024];
	size_t ndocs = sizeof(nested_docs) / sizeof(nested_docs[0]);

	if (root == NULL || system("node --version >/dev/null 2>&1") != 0) {
		print_message("skipped: needs node and ZGUARD_SOURCE_DIR\n");
		skip();
	}
	int fd = mkstemp(in_path);
	assert_true(fd >= 0);
	FILE *in = fdopen(fd, "w");
	assert_non_null(in);
	for (size_t i = 0; i < ndocs; i++) {
		json_t *doc = load(nested_docs[i]);
		char *line = json_dumps(doc, JSON_COMPACT);
		fprintf(in, "%s\n", line);
		free(line);
		json_decref(doc);
	}
	fclose(in);

	snprintf(cmd, sizeof(cmd), "node '%s/tests/js/check_typed_data.js' < '%s'",
	    root, in_path);
	FILE *out = popen(cmd, "r");
	assert_non_null(out);
	char *line = NULL;
	size_t cap = 0, n = 0;
	while (getline(&line, &cap, out) > 0 && n < ndocs) {
		json_t *want = load(line);
		json_t *doc = load(nested_docs[n]);
		uint8_t ds[32], mh[32], digest[32];
		char hex[67];
		zg_errmsg em = {0};
		print_message("document %zu\n", n);
		assert_null(json_object_get(want, "error"));
		if (zg_eip712_hashes(doc, ds, mh, &em) != ZG_OK)
			print_error("zguard rejected it: %s\n", em.text);
		assert_int_equal(em.code, ZG_OK);
		assert_int_equal(zg_eip712_digest(doc, digest, &em), ZG_OK);
		hex_of(ds, hex);
		assert_string_equal(hex, json_string_value(json_object_get(want,
		    "domainSeparator")));
		hex_of(mh, hex);
		assert_string_equal(hex, json_string_value(json_object_get(want,
		    "messageHash")));
		hex_of(digest, hex);
		assert_string_equal(hex, json_string_value(json_object_get(want,
		    "digest")));
		json_decref(want);
		json_decref(doc);
		n++;
	}
	free(line);
	assert_int_equal(pclose(out), 0);
	assert_int_equal(n, ndocs);
	unlink(in_path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eip712_mail_example),
		cmocka_unit_test(test_eip712_derived_domain),
		cmocka_unit_test(test_eip712_missing_type),
		cmocka_unit_test(test_eip712_type_cycle),
		cmocka_unit_test(test_eip712_malformed_types),
		cmocka_unit_test(test_eip712_value_does_not_fit),
		cmocka_unit_test(test_eip712_range_named),
		cmocka_unit_test(test_eip712_unknown_and_missing_fields),
		cmocka_unit_test(test_eip712_bad_document),
		cmocka_unit_test(test_eip712_ethers_cross_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
