/*
 * Tests of transaction policies: parsing and every validation error,
 * classification of transactions and messages, and evaluation (fee caps,
 * first matching rule, no match blocks, and the charges for limits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txpolicy/txpolicy.h"

#define TOKEN "0x1111111111111111111111111111111111111111"
#define ALICE_ADDR "0x2222222222222222222222222222222222222222"
#define BOB_ADDR "0x3333333333333333333333333333333333333333"
/* A mixed-case address with a valid checksum, from the test cases of
 * EIP-55 (Mixed-case checksum address encoding). */
#define EIP55_ADDR "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"

static const char *policy_text =
    "{\"name\":\"treasury\","
    " \"keys\":{\"ids\":[\"key_000000000000000000000001\"],"
    "  \"labels\":[\"treasury-*\"]},"
    " \"rules\":["
    "  {\"name\":\"block-bob\",\"match\":{\"destinations\":{\"allow\":"
    "    [\"" BOB_ADDR "\"]}},\"action\":\"block\"},"
    "  {\"name\":\"small-eth\",\"match\":{\"initiators\":{\"users\":"
    "    [\"alice\"],\"roles\":[\"ops\"],\"serviceAccounts\":[\"sa:bot\"]},"
    "    \"chainIds\":[\"1\"],\"kinds\":[\"native_transfer\"],"
    "    \"value\":{\"max\":\"1000000000000000000\"},\"asset\":\"native\"},"
    "   \"action\":\"allow\"},"
    "  {\"name\":\"token-to-alice\",\"match\":{\"kinds\":[\"erc20_transfer\"],"
    "    \"asset\":\"" TOKEN "\",\"destinations\":{\"allow\":[\""
    ALICE_ADDR "\"]},\"selectors\":[\"0xa9059cbb\"]},\"action\":\"allow\","
    "   \"simulate\":true},"
    "  {\"name\":\"big-eth\",\"match\":{\"kinds\":[\"native_transfer\"]},"
    "   \"action\":\"require_approval\",\"approval\":{\"count\":2,"
    "    \"fromRole\":\"treasury_approver\",\"expiresInSeconds\":600}}],"
    " \"feeCaps\":{\"1\":{\"maxFeePerGas\":\"200000000000\","
    "  \"maxGas\":\"1000000\"}},"
    " \"unlimitedApprovalCeiling\":\"1000000000000000000000000\","
    " \"limits\":["
    "  {\"name\":\"daily-eth\",\"scope\":\"key\",\"asset\":\"native\","
    "   \"window\":{\"type\":\"day\",\"timezone\":\"Europe/Berlin\"},"
    "   \"max\":\"5000000000000000000\"},"
    "  {\"name\":\"token-hourly\",\"scope\":\"workflow\",\"asset\":\"" TOKEN
    "\",\"window\":{\"type\":\"rolling\",\"seconds\":3600},\"max\":\"1000\"}]}";

/* ---- helpers ---- */

static bool
role_exists(void *ctx, const char *role)
{
	return strcmp(role, "ghost") != 0;
}

static bool
chain_has_rpc(void *ctx, const zg_u256 *chain_id)
{
	uint64_t id;
	return zg_u256_to_u64(chain_id, &id) && id == 1;
}

static long
users_with_role(void *ctx, const char *role)
{
	return 1;
}

static const zg_txpolicy_checks checks = {NULL, role_exists, chain_has_rpc,
    users_with_role};

static zg_err
parse_text(const char *text, zg_txpolicy **p, json_t **warnings,
    zg_errmsg *em)
{
	json_error_t jerr;
	json_t *obj = json_loads(text, 0, &jerr);
	assert_non_null(obj);
	zg_err err = zg_txpolicy_from_json(obj, &checks, p, warnings, em);
	json_decref(obj);
	return err;
}

/* Replaces the first "from" in the example policy with "to" and parses. */
static zg_err
parse_edit(const char *from, const char *to, zg_errmsg *em)
{
	const char *at = strstr(policy_text, from);
	assert_non_null(at);
	size_t len = strlen(policy_text) - strlen(from) + strlen(to) + 1;
	char *text = malloc(len);
	assert_non_null(text);
	snprintf(text, len, "%.*s%s%s", (int)(at - policy_text), policy_text,
	    to, at + strlen(from));
	zg_txpolicy *p = NULL;
	zg_err err = parse_text(text, &p, NULL, em);
	zg_txpolicy_free(p);
	free(text);
	return err;
}

static zg_txpolicy *
example(void)
{
	zg_txpolicy *p = NULL;
	zg_errmsg em = {0};
	zg_err err = parse_text(policy_text, &p, NULL, &em);
	if (err != ZG_OK)
		fprintf(stderr, "example policy: %s\n", em.text);
	assert_int_equal(err, ZG_OK);
	return p;
}

static void
address(const char *hex, uint8_t out[20])
{
	assert_int_equal(zg_chain_address_parse(hex, "address", out, NULL),
	    ZG_OK);
}

/* A type 2 transaction on chain 1 with fees under the caps. */
static zg_tx
tx_to(const char *to, uint64_t wei)
{
	zg_tx tx;
	memset(&tx, 0, sizeof(tx));
	tx.type = 2;
	zg_u256_from_u64(&tx.chain_id, 1);
	zg_u256_from_u64(&tx.gas, 21000);
	zg_u256_from_u64(&tx.max_fee_per_gas, 100000000000ULL);
	if (to != NULL) {
		tx.has_to = true;
		address(to, tx.to);
	}
	zg_u256_from_u64(&tx.value, wei);
	return tx;
}

/* ERC-20 calldata: selector, optional from, target, amount (all ones
 * when amount is UINT64_MAX). */
static void
erc20_data(uint8_t *out, const uint8_t sel[4], const char *from,
    const char *target, uint64_t amount, size_t *len)
{
	uint8_t *p = out;
	memcpy(p, sel, 4);
	p += 4;
	if (from != NULL) {
		memset(p, 0, 12);
		address(from, p + 12);
		p += 32;
	}
	memset(p, 0, 12);
	address(target, p + 12);
	p += 32;
	zg_u256 a;
	if (amount == UINT64_MAX)
		memset(&a, 0xff, sizeof(a));
	else
		zg_u256_from_u64(&a, amount);
	zg_u256_to_be(&a, p);
	p += 32;
	*len = (size_t)(p - out);
}

static const uint8_t sel_transfer[4] = {0xa9, 0x05, 0x9c, 0xbb};
static const uint8_t sel_approve[4] = {0x09, 0x5e, 0xa7, 0xb3};
static const uint8_t sel_transfer_from[4] = {0x23, 0xb8, 0x72, 0xdd};

static zg_txrequest
request(const zg_txfacts *f)
{
	static const char *const roles[] = {"viewer"};
	zg_txrequest r = {
		.key_id = "key_000000000000000000000001",
		.key_label = "treasury-hot",
		.initiator_id = "alice",
		.initiator_type = ZG_TXINITIATOR_USER,
		.roles = roles,
		.nroles = 1,
		.workflow_id = NULL,
		.facts = *f,
	};
	return r;
}

static void
assert_rejected(const char *from, const char *to, const char *field)
{
	zg_errmsg em = {0};
	assert_int_equal(parse_edit(from, to, &em), ZG_ERR_INVALID);
	if (strstr(em.text, field) == NULL)
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", em.text, field);
	assert_non_null(strstr(em.text, field));
}

/* ---- parsing ---- */

static void
test_example_parses(void **state)
{
	zg_txpolicy *p = example();
	assert_string_equal(zg_txpolicy_name(p), "treasury");
	assert_int_equal(zg_txpolicy_limit_count(p), 2);
	assert_string_equal(zg_txpolicy_limit_name(p, 1), "token-hourly");
	zg_txpolicy_free(p);
}

static void
test_round_trip(void **state)
{
	zg_txpolicy *p = example(), *q = NULL;
	json_t *a = zg_txpolicy_to_json(p);
	assert_non_null(a);
	assert_int_equal(zg_txpolicy_from_json(a, &checks, &q, NULL, NULL),
	    ZG_OK);
	json_t *b = zg_txpolicy_to_json(q);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	zg_txpolicy_free(p);
	zg_txpolicy_free(q);
}

static void
test_key_selection(void **state)
{
	zg_txpolicy *p = example();
	assert_true(zg_txpolicy_applies_to_key(p,
	    "key_000000000000000000000001", ""));
	assert_true(zg_txpolicy_applies_to_key(p, "key_other", "treasury-cold"));
	assert_false(zg_txpolicy_applies_to_key(p, "key_other", "ops-hot"));
	assert_false(zg_txpolicy_applies_to_key(p, "key_other", "treasury"));
	zg_txpolicy_free(p);
}

static void
test_unknown_field(void **state)
{
	assert_rejected("\"name\":\"treasury\",", "\"name\":\"treasury\","
	    "\"color\":1,", "color");
	assert_rejected("\"chainIds\":[\"1\"],", "\"chainIds\":[\"1\"],"
	    "\"gasless\":true,", "rules[1].match");
}

static void
test_duplicate_rule_name(void **state)
{
	assert_rejected("\"name\":\"big-eth\"", "\"name\":\"small-eth\"",
	    "rules[3].name");
}

static void
test_selector_length(void **state)
{
	assert_rejected("0xa9059cbb", "0xa9059c", "rules[2].match.selectors[0]");
	assert_rejected("0xa9059cbb", "0xa9059cbb00", "selectors[0]");
	assert_rejected("\"0xa9059cbb\"", "\"a9059cbb00\"", "selectors[0]");
	assert_rejected("0xa9059cbb", "0xa9059cbz", "selectors[0]");
}

static void
test_negative_amount(void **state)
{
	assert_rejected("\"max\":\"1000000000000000000\"", "\"max\":\"-1\"",
	    "rules[1].match.value.max");
}

static void
test_fraction_amount(void **state)
{
	assert_rejected("\"max\":\"1000000000000000000\"", "\"max\":\"1.5\"",
	    "rules[1].match.value.max");
	assert_rejected("\"max\":\"1000\"", "\"max\":\"1e3\"", "limits[1].max");
}

static void
test_number_amount(void **state)
{
	assert_rejected("\"max\":\"1000\"", "\"max\":1000", "limits[1].max");
	assert_rejected("\"maxGas\":\"1000000\"", "\"maxGas\":1000000.0",
	    "feeCaps.1.maxGas");
}

static void
test_unknown_timezone(void **state)
{
	assert_rejected("Europe/Berlin", "Mars/Olympus_Mons",
	    "limits[0].window.timezone");
	assert_rejected("Europe/Berlin", "../etc/passwd",
	    "limits[0].window.timezone");
}

static void
test_unknown_kind(void **state)
{
	assert_rejected("\"kinds\":[\"erc20_transfer\"]",
	    "\"kinds\":[\"erc721_transfer\"]", "rules[2].match.kinds[0]");
}

static void
test_bad_checksum(void **state)
{
	uint8_t a[20];
	address(EIP55_ADDR, a);
	/* The same address with one letter's case flipped. */
	assert_rejected(ALICE_ADDR, "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	    "rules[2].match.destinations.allow[0]");
	assert_rejected(ALICE_ADDR, "0x22", "destinations.allow[0]");
}

static void
test_approval_count_zero(void **state)
{
	assert_rejected("\"count\":2", "\"count\":0", "rules[3].approval.count");
}

static void
test_approval_count_named(void **state)
{
	assert_rejected("\"count\":2", "\"count\":0", "got 0");
	assert_rejected("\"count\":2", "\"count\":\"2\"", "got \"2\"");
	assert_rejected("\"count\":2", "\"count\":101", "got 101");
	assert_rejected("\"expiresInSeconds\":600", "\"expiresInSeconds\":59",
	    "got 59");
}

static void
test_simulate_not_boolean(void **state)
{
	assert_rejected("\"simulate\":true", "\"simulate\":1",
	    "rules[2].simulate");
	assert_rejected("\"simulate\":true", "\"simulate\":\"yes\"",
	    "got \"yes\"");
}

static void
test_value_min_above_max(void **state)
{
	assert_rejected("\"value\":{\"max\":\"1000000000000000000\"}",
	    "\"value\":{\"min\":\"5\",\"max\":\"3\"}",
	    "rules[1].match.value");
	assert_rejected("\"value\":{\"max\":\"1000000000000000000\"}",
	    "\"value\":{\"min\":\"5\",\"max\":\"3\"}", "min 5 above max 3");
}

static void
test_approval_missing(void **state)
{
	assert_rejected("\"action\":\"require_approval\",\"approval\"",
	    "\"action\":\"require_approval\",\"approvalx\"", "approvalx");
	assert_rejected(",\"approval\":{\"count\":2,"
	    "    \"fromRole\":\"treasury_approver\",\"expiresInSeconds\":600}",
	    "", "rules[3].approval");
}

static void
test_unknown_role(void **state)
{
	assert_rejected("\"treasury_approver\"", "\"ghost\"",
	    "rules[3].approval.fromRole");
	assert_rejected("\"roles\":[\"ops\"]", "\"roles\":[\"ghost\"]",
	    "rules[1].match.initiators.roles[0]");
}

static void
test_simulate_without_rpc(void **state)
{
	zg_errmsg em = {0};
	/* Chain 1 has an endpoint, chain 5 has none. */
	assert_int_equal(parse_edit("\"asset\":\"" TOKEN "\",",
	    "\"asset\":\"" TOKEN "\",\"chainIds\":[\"1\"],", &em), ZG_OK);
	assert_rejected("\"asset\":\"" TOKEN "\",", "\"asset\":\"" TOKEN
	    "\",\"chainIds\":[\"1\",\"5\"],", "rules[2].simulate");
}

static void
test_approval_above_holders(void **state)
{
	zg_txpolicy *p = NULL;
	json_t *warnings = NULL;
	zg_errmsg em = {0};
	assert_int_equal(parse_text(policy_text, &p, &warnings, &em), ZG_OK);
	/* One warning for count 2 with one holder, one for simulate:true
	 * without chainIds. */
	assert_int_equal(json_array_size(warnings), 2);
	assert_non_null(strstr(json_string_value(json_array_get(warnings, 1)),
	    "rules[3].approval.count is 2 but only 1 users"));
	json_decref(warnings);
	zg_txpolicy_free(p);
}

static void
test_limit_window_fields(void **state)
{
	assert_rejected("\"seconds\":3600", "\"seconds\":0",
	    "limits[1].window.seconds");
	assert_rejected("\"type\":\"day\"", "\"type\":\"week\"",
	    "limits[0].window.type");
	assert_rejected("\"scope\":\"key\"", "\"scope\":\"team\"",
	    "limits[0].scope");
	assert_rejected("\"name\":\"daily-eth\"", "\"name\":\"daily eth\"",
	    "limits[0].name");
}

/* ---- classification ---- */

static void
test_classify_native(void **state)
{
	zg_tx tx = tx_to(ALICE_ADDR, 5);
	zg_txfacts f;
	assert_int_equal(zg_txfacts_from_tx(&tx, NULL, &f, NULL), ZG_OK);
	assert_int_equal(f.kind, ZG_TXKIND_NATIVE_TRANSFER);
	assert_true(f.asset_native);
	assert_false(f.has_selector);
	uint64_t v;
	assert_true(zg_u256_to_u64(&f.amount, &v));
	assert_int_equal(v, 5);
}

static void
test_classify_erc20(void **state)
{
	zg_txpolicy *p = example();
	uint8_t data[100], token[20], alice[20];
	size_t len;
	zg_txfacts f;
	uint64_t v;
	zg_tx tx = tx_to(TOKEN, 0);
	address(TOKEN, token);
	address(ALICE_ADDR, alice);
	tx.data = data;

	erc20_data(data, sel_transfer, NULL, ALICE_ADDR, 700, &len);
	tx.data_len = len;
	assert_int_equal(zg_txfacts_from_tx(&tx, p, &f, NULL), ZG_OK);
	assert_int_equal(f.kind, ZG_TXKIND_ERC20_TRANSFER);
	assert_false(f.asset_native);
	assert_memory_equal(f.asset, token, 20);
	assert_memory_equal(f.destination, alice, 20);
	assert_true(zg_u256_to_u64(&f.amount, &v));
	assert_int_equal(v, 700);

	erc20_data(data, sel_transfer_from, BOB_ADDR, ALICE_ADDR, 1, &len);
	tx.data_len = len;
	assert_int_equal(zg_txfacts_from_tx(&tx, p, &f, NULL), ZG_OK);
	assert_int_equal(f.kind, ZG_TXKIND_ERC20_TRANSFER_FROM);
	assert_memory_equal(f.destination, alice, 20);
	zg_txpolicy_free(p);
}

static void
test_classify_approvals(void **state)
{
	zg_txpolicy *p = example();
	uint8_t data[100];
	size_t len;
	zg_txfacts f;
	zg_tx tx = tx_to(TOKEN, 0);
	tx.data = data;

	erc20_data(data, sel_approve, NULL, BOB_ADDR, 1000, &len);
	tx.data_len = len;
	assert_int_equal(zg_txfacts_from_tx(&tx, p, &f, NULL), ZG_OK);
	assert_int_equal(f.kind, ZG_TXKIND_ERC20_APPROVE);

	erc20_data(data, sel_approve, NULL, BOB_ADDR, UINT64_MAX, &len);
	assert_int_equal(zg_txfacts_from_tx(&tx, NULL, &f, NULL), ZG_OK);
	assert_int_equal(f.kind, ZG_TXKIND_ERC20_UNLIMITED_APPROVE);

	/* One above the example's ceiling of 10^24: unlimited under the
	 * policy, an ordinary approval without one. */
	zg_u256 above;
	assert_int_equal(zg_u256_parse("1000000000000000000000001", "a",
	    &above, NULL), ZG_OK);
	zg_u256_to_be(&above, data + 4 + 32);
	assert_int_equal(zg_txfacts_from_tx(&tx, p, &f, NULL), ZG_OK);
	assert_int_equal(f.kind, ZG_TXKIND_ERC20_UNLIMITED_APPROVE);
	assert_int_equal(zg_txfacts_from_tx(&tx, NULL, &f, NULL), ZG_OK);
	assert_int_equal(f.kind, ZG_TXKIND_ERC20_APPROVE);
	zg_txpolicy_free(p);
}

static void
test_classify_other(void **state)
{
	uint8_t data[8] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
	zg_txfacts f;
	zg_tx tx = tx_to(TOKEN, 0);
	tx.data = data;
	tx.data_len = sizeof(data);
	assert_int_equal(zg_txfacts_from_tx(&tx, NULL, &f, NULL), ZG_OK);
	assert_int_equal(f.kind, ZG_TXKIND_CONTRACT_CALL);
	assert_true(f.has_selector);

	zg_tx create = tx_to(NULL, 0);
	create.data = data;
	create.data_len = sizeof(data);
	assert_int_equal(zg_txfacts_from_tx(&create, NULL, &f, NULL), ZG_OK);
	assert_int_equal(f.kind, ZG_TXKIND_CONTRACT_CREATION);
	assert_false(f.has_destination);
	assert_false(f.has_selector);

	zg_txfacts_from_message(&f);
	assert_int_equal(f.kind, ZG_TXKIND_PERSONAL_MESSAGE);
	assert_false(f.has_amount);
}

static void
test_classify_short_calldata(void **state)
{
	uint8_t data[100];
	size_t len;
	zg_txfacts f;
	zg_errmsg em = {0};
	zg_tx tx = tx_to(TOKEN, 0);
	erc20_data(data, sel_transfer, NULL, ALICE_ADDR, 1, &len);
	tx.data = data;
	tx.data_len = 40;    /* the amount word is cut short */
	assert_int_equal(zg_txfacts_from_tx(&tx, NULL, &f, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "0xa9059cbb"));
}

static void
test_classify_typed_data(void **state)
{
	json_t *td = json_pack("{s:{s:s,s:i,s:s}}", "domain", "name", "Permit",
	    "chainId", 1, "verifyingContract", TOKEN);
	zg_txfacts f;
	uint8_t token[20];
	address(TOKEN, token);
	assert_int_equal(zg_txfacts_from_typed_data(td, &f, NULL), ZG_OK);
	assert_int_equal(f.kind, ZG_TXKIND_TYPED_DATA);
	assert_true(f.has_chain_id);
	assert_memory_equal(f.destination, token, 20);
	json_decref(td);
}

/* ---- evaluation ---- */

static zg_txdecision
decide(const zg_txpolicy *p, const zg_tx *tx, const char *workflow)
{
	zg_txfacts f;
	zg_txdecision d;
	assert_int_equal(zg_txfacts_from_tx(tx, p, &f, NULL), ZG_OK);
	zg_txrequest r = request(&f);
	r.workflow_id = workflow;
	assert_int_equal(zg_txpolicy_evaluate(p, &r, &d), ZG_OK);
	return d;
}

static void
test_eval_first_match(void **state)
{
	zg_txpolicy *p = example();
	zg_tx tx = tx_to(ALICE_ADDR, 1000);
	zg_txdecision d = decide(p, &tx, NULL);
	assert_int_equal(d.action, ZG_TXACTION_ALLOW);
	assert_string_equal(d.rule, "small-eth");
	assert_int_equal(d.ncharges, 1);
	assert_string_equal(d.charges[0].scope_value,
	    "key_000000000000000000000001");
	zg_txdecision_free(&d);

	/* Above small-eth's max, so the next native rule decides. */
	zg_u256_parse("2000000000000000000", "v", &tx.value, NULL);
	d = decide(p, &tx, NULL);
	assert_int_equal(d.action, ZG_TXACTION_REQUIRE_APPROVAL);
	assert_string_equal(d.rule, "big-eth");
	assert_int_equal(d.approval.count, 2);
	assert_string_equal(d.approval.from_role, "treasury_approver");
	assert_int_equal(d.approval.expires_in_s, 600);
	zg_txdecision_free(&d);
	zg_txpolicy_free(p);
}

static void
test_eval_block_listed(void **state)
{
	zg_txpolicy *p = example();
	zg_tx tx = tx_to(BOB_ADDR, 1);
	zg_txdecision d = decide(p, &tx, NULL);
	assert_int_equal(d.action, ZG_TXACTION_BLOCK);
	assert_string_equal(d.rule, "block-bob");
	assert_int_equal(d.ncharges, 0);
	zg_txdecision_free(&d);

	/* A token transfer to Bob matches through its recipient. */
	uint8_t data[100];
	size_t len;
	tx = tx_to(TOKEN, 0);
	erc20_data(data, sel_transfer, NULL, BOB_ADDR, 5, &len);
	tx.data = data;
	tx.data_len = len;
	d = decide(p, &tx, NULL);
	assert_string_equal(d.rule, "block-bob");
	zg_txdecision_free(&d);
	zg_txpolicy_free(p);
}

static void
test_eval_deny_list(void **state)
{
	zg_txpolicy *p = NULL;
	zg_txdecision d;
	uint8_t data[100];
	size_t len;
	assert_int_equal(parse_text("{\"name\":\"d\",\"rules\":[{\"name\":"
	    "\"not-listed\",\"match\":{\"destinations\":{\"deny\":[\""
	    BOB_ADDR "\",\"" TOKEN "\"]}},\"action\":\"allow\"}]}", &p, NULL,
	    NULL), ZG_OK);

	zg_tx tx = tx_to(ALICE_ADDR, 1);
	d = decide(p, &tx, NULL);
	assert_int_equal(d.action, ZG_TXACTION_ALLOW);
	zg_txdecision_free(&d);

	tx = tx_to(BOB_ADDR, 1);
	d = decide(p, &tx, NULL);
	assert_int_equal(d.action, ZG_TXACTION_BLOCK);
	assert_null(d.rule);
	zg_txdecision_free(&d);

	/* A transfer of a denied token to Alice: "to" is listed. */
	tx = tx_to(TOKEN, 0);
	erc20_data(data, sel_transfer, NULL, ALICE_ADDR, 5, &len);
	tx.data = data;
	tx.data_len = len;
	d = decide(p, &tx, NULL);
	assert_int_equal(d.action, ZG_TXACTION_BLOCK);
	zg_txdecision_free(&d);
	zg_txpolicy_free(p);
}

static void
test_eval_token_rule(void **state)
{
	zg_txpolicy *p = example();
	uint8_t data[100];
	size_t len;
	uint64_t v;
	zg_tx tx = tx_to(TOKEN, 0);
	erc20_data(data, sel_transfer, NULL, ALICE_ADDR, 400, &len);
	tx.data = data;
	tx.data_len = len;
	zg_txdecision d = decide(p, &tx, NULL);
	assert_int_equal(d.action, ZG_TXACTION_ALLOW);
	assert_string_equal(d.rule, "token-to-alice");
	assert_true(d.simulate);
	/* Only the token limit: the transaction carries no wei. */
	assert_int_equal(d.ncharges, 1);
	assert_int_equal(d.charges[0].limit, 1);
	assert_string_equal(d.charges[0].scope_value, "none");
	assert_true(zg_u256_to_u64(&d.charges[0].amount, &v));
	assert_int_equal(v, 400);
	zg_txdecision_free(&d);

	d = decide(p, &tx, "payroll");
	assert_string_equal(d.charges[0].scope_value, "payroll");
	zg_txdecision_free(&d);
	zg_txpolicy_free(p);
}

static void
test_eval_no_match(void **state)
{
	zg_txpolicy *p = example();
	uint8_t data[100];
	size_t len;
	zg_tx tx = tx_to(TOKEN, 0);
	erc20_data(data, sel_approve, NULL, ALICE_ADDR, 1, &len);
	tx.data = data;
	tx.data_len = len;
	zg_txdecision d = decide(p, &tx, NULL);
	assert_int_equal(d.action, ZG_TXACTION_BLOCK);
	assert_null(d.rule);
	assert_non_null(strstr(d.reason, "no rule"));
	zg_txdecision_free(&d);

	zg_txfacts f;
	zg_txfacts_from_message(&f);
	zg_txrequest r = request(&f);
	assert_int_equal(zg_txpolicy_evaluate(p, &r, &d), ZG_OK);
	assert_int_equal(d.action, ZG_TXACTION_BLOCK);
	zg_txdecision_free(&d);
	zg_txpolicy_free(p);
}

static void
test_eval_fee_caps(void **state)
{
	zg_txpolicy *p = example();
	zg_tx tx = tx_to(ALICE_ADDR, 1);
	zg_u256_from_u64(&tx.max_fee_per_gas, 200000000001ULL);
	zg_txdecision d = decide(p, &tx, NULL);
	assert_int_equal(d.action, ZG_TXACTION_BLOCK);
	assert_null(d.rule);
	assert_non_null(strstr(d.reason, "maxFeePerGas"));
	zg_txdecision_free(&d);

	tx = tx_to(ALICE_ADDR, 1);
	zg_u256_from_u64(&tx.gas, 1000001);
	d = decide(p, &tx, NULL);
	assert_int_equal(d.action, ZG_TXACTION_BLOCK);
	assert_non_null(strstr(d.reason, "maxGas"));
	zg_txdecision_free(&d);

	/* Exactly at the caps passes. */
	zg_u256_from_u64(&tx.gas, 1000000);
	zg_u256_from_u64(&tx.max_fee_per_gas, 200000000000ULL);
	d = decide(p, &tx, NULL);
	assert_int_equal(d.action, ZG_TXACTION_ALLOW);
	zg_txdecision_free(&d);
	zg_txpolicy_free(p);
}

static void
test_eval_initiators(void **state)
{
	zg_txpolicy *p = example();
	zg_tx tx = tx_to(ALICE_ADDR, 1);
	zg_txfacts f;
	zg_txdecision d;
	const char *const roles[] = {"ops"};
	assert_int_equal(zg_txfacts_from_tx(&tx, p, &f, NULL), ZG_OK);

	zg_txrequest r = request(&f);
	r.initiator_id = "mallory";
	assert_int_equal(zg_txpolicy_evaluate(p, &r, &d), ZG_OK);
	assert_string_equal(d.rule, "big-eth");
	zg_txdecision_free(&d);

	r.roles = roles;
	assert_int_equal(zg_txpolicy_evaluate(p, &r, &d), ZG_OK);
	assert_string_equal(d.rule, "small-eth");
	zg_txdecision_free(&d);

	/* A service account named like a user does not match "users". */
	r = request(&f);
	r.initiator_type = ZG_TXINITIATOR_SERVICE_ACCOUNT;
	assert_int_equal(zg_txpolicy_evaluate(p, &r, &d), ZG_OK);
	assert_string_equal(d.rule, "big-eth");
	zg_txdecision_free(&d);
	r.initiator_id = "sa:bot";
	assert_int_equal(zg_txpolicy_evaluate(p, &r, &d), ZG_OK);
	assert_string_equal(d.rule, "small-eth");
	zg_txdecision_free(&d);
	zg_txpolicy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_parses),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_key_selection),
		cmocka_unit_test(test_unknown_field),
		cmocka_unit_test(test_duplicate_rule_name),
		cmocka_unit_test(test_selector_length),
		cmocka_unit_test(test_negative_amount),
		cmocka_unit_test(test_fraction_amount),
		cmocka_unit_test(test_number_amount),
		cmocka_unit_test(test_unknown_timezone),
		cmocka_unit_test(test_unknown_kind),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_approval_count_zero),
		cmocka_unit_test(test_approval_count_named),
		cmocka_unit_test(test_value_min_above_max),
		cmocka_unit_test(test_simulate_not_boolean),
		cmocka_unit_test(test_approval_missing),
		cmocka_unit_test(test_unknown_role),
		cmocka_unit_test(test_simulate_without_rpc),
		cmocka_unit_test(test_approval_above_holders),
		cmocka_unit_test(test_limit_window_fields),
		cmocka_unit_test(test_classify_native),
		cmocka_unit_test(test_classify_erc20),
		cmocka_unit_test(test_classify_approvals),
		cmocka_unit_test(test_classify_other),
		cmocka_unit_test(test_classify_short_calldata),
		cmocka_unit_test(test_classify_typed_data),
		cmocka_unit_test(test_eval_first_match),
		cmocka_unit_test(test_eval_block_listed),
		cmocka_unit_test(test_eval_deny_list),
		cmocka_unit_test(test_eval_token_rule),
		cmocka_unit_test(test_eval_no_match),
		cmocka_unit_test(test_eval_fee_caps),
		cmocka_unit_test(test_eval_initiators),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
