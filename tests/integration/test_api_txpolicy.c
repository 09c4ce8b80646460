/*
 * Transaction safety over HTTP against the real daemon. The cases cover:
 * - transaction policies: CRUD, warnings, and every bad input the API
 *   names;
 * - the signing gate's block and allow rules by destination, kind,
 *   selector, value range and ERC-20 amount, fee caps, and evaluation
 *   without signing;
 * - spending limits: 100 concurrent requests against a limit of 10, the
 *   status route, and release;
 * - multi-approval: M of N, self-approval, double approval, rejection,
 *   limits checked again at approval, expiry, and the audit events;
 * - emergency stops: key, policy and all, lifting by admin only, and a
 *   pending request refused while stopped;
 * - simulation against a node that cannot be reached. The simulation
 *   cases against ganache are in test_api_txsim.c.
 *
 * One daemon serves most tests. Its [rpc] section names an endpoint for
 * chain 31337 on a loopback port where nothing listens. Each test makes
 * its own key and a policy for that key alone, so the tests do not see
 * each other's rules.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "zgtest.h"

#define DEST_A "0x3535353535353535353535353535353535353535"
#define DEST_B "0x4646464646464646464646464646464646464646"
#define TOKEN "0x5757575757575757575757575757575757575757"
/* An address word of calldata: 12 zero bytes and DEST_A. */
#define WORD_DEST_A \
	"0000000000000000000000003535353535353535353535353535353535353535"
#define WORD_MAX \
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define UNREACHABLE_CHAIN "31337"
#define CONCURRENT 100

static zgt_daemon srv;
static char bob_token[128];    /* holds treasury_approver */
static char carol_token[128];  /* holds treasury_approver */
static char dave_token[128];   /* has no approver role at first */

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Sends a request to d and checks its status, printing the body when it
 * differs. The caller frees *r. */
static void
http_on(zgt_daemon *d, const char *method, const char *path,
    const char *token, const char *body, long status, zgt_resp *r)
{
	assert_int_equal(zgt_http(d, method, path, token, body, r), 0);
	if (r->status != status)
		fprintf(stderr, "%s %s: expected %ld, got %ld %s\n", method, path,
		    status, r->status, r->body ? r->body : "");
	assert_int_equal(r->status, status);
}

static void
http(const char *method, const char *path, const char *token,
    const char *body, long status, zgt_resp *r)
{
	http_on(&srv, method, path, token, body, status, r);
}

static void
http_status(const char *method, const char *path, const char *token,
    const char *body, long status)
{
	zgt_resp r;
	http(method, path, token, body, status, &r);
	zgt_resp_free(&r);
}

/* True if the error message of r contains needle. */
static bool
message_has(const zgt_resp *r, const char *needle)
{
	const char *m = json_string_value(json_object_get(json_object_get(
	    r->json, "error"), "message"));
	if (m == NULL || strstr(m, needle) == NULL) {
		fprintf(stderr, "message lacks \"%s\": %s\n", needle,
		    r->body ? r->body : "");
		return false;
	}
	return true;
}

/* Creates a secp256k1 key on d as admin and copies its id. */
static void
new_key_on(zgt_daemon *d, char id[64])
{
	zgt_resp r;
	http_on(d, "POST", "/v1/keys", d->token, "{\"algorithm\":\"secp256k1\","
	    "\"label\":\"txpolicy\",\"allowRawDigest\":true}", 201, &r);
	snprintf(id, 64, "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
}

static void
new_key(char id[64])
{
	new_key_on(&srv, id);
}

/* PUTs policy `name` for key with the given rules (and extra top-level
 * fields, "" for none) and expects status. */
static void
put_policy(const char *name, const char *key, const char *rules,
    const char *extra, long status, zgt_resp *r)
{
	char path[128], body[8192];
	snprintf(path, sizeof(path), "/v1/policies/transactions/%s", name);
	snprintf(body, sizeof(body), "{\"keys\":{\"ids\":[\"%s\"]},\"rules\":"
	    "[%s]%s}", key, rules, extra);
	http("PUT", path, srv.token, body, status, r);
}

static void
put_policy_ok(const char *name, const char *key, const char *rules,
    const char *extra)
{
	zgt_resp r;
	put_policy(name, key, rules, extra, 201, &r);
	zgt_resp_free(&r);
}

/* A type-2 transaction on chain 1337 to `to` with value and data. */
static void
tx_body(char *out, size_t outsz, const char *to, const char *value,
    const char *data)
{
	snprintf(out, outsz, "{\"chainId\":\"1337\",\"type\":2,\"nonce\":\"0\","
	    "\"to\":\"%s\",\"value\":\"%s\",\"data\":\"%s\",\"gas\":\"60000\","
	    "\"maxFeePerGas\":\"2000000000\",\"maxPriorityFeePerGas\":"
	    "\"1000000000\"}", to, value, data);
}

/* Signs body with key as token's holder on d, expecting status. */
static void
sign_on(zgt_daemon *d, const char *key, const char *op, const char *token,
    const char *body, long status, zgt_resp *r)
{
	char path[160];
	snprintf(path, sizeof(path), "/v1/keys/%s/%s", key, op);
	http_on(d, "POST", path, token, body, status, r);
}

static void
sign_tx(const char *key, const char *body, long status, zgt_resp *r)
{
	sign_on(&srv, key, "sign-transaction", srv.token, body, status, r);
}

static void
sign_tx_status(const char *key, const char *to, const char *value,
    const char *data, long status)
{
	char body[1024];
	zgt_resp r;
	tx_body(body, sizeof(body), to, value, data);
	sign_tx(key, body, status, &r);
	zgt_resp_free(&r);
}

/* POSTs /v1/tx-requests/{id}/<op> as token, expecting status. */
static void
txreq_post(const char *id, const char *op, const char *token,
    const char *body, long status, zgt_resp *r)
{
	char path[160];
	snprintf(path, sizeof(path), "/v1/tx-requests/%s/%s", id, op);
	http("POST", path, token, body, status, r);
}

static void
txreq_post_status(const char *id, const char *op, const char *token,
    long status)
{
	zgt_resp r;
	txreq_post(id, op, token, NULL, status, &r);
	zgt_resp_free(&r);
}

static int
setup_post(const char *path, const char *body, const char *field, char *out,
    size_t outsz)
{
	zgt_resp r;
	if (zgt_http(&srv, "POST", path, srv.token, body, &r) != 0)
		return -1;
	int rc = r.status == 201 ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "POST %s: %ld %s\n", path, r.status,
		    r.body ? r.body : "");
	if (out != NULL)
		snprintf(out, outsz, "%s", zgt_str(&r, field));
	zgt_resp_free(&r);
	return rc;
}

static int
group_setup(void **state)
{
	char ini[256];
	snprintf(ini, sizeof(ini), "[rpc]\n%s = http://127.0.0.1:%u\n"
	    "connect_timeout_ms = 500\ntimeout_ms = 2000\n", UNREACHABLE_CHAIN,
	    zgt_free_port());
	if (zgt_daemon_start(&srv, ini) != 0)
		return -1;
	if (setup_post("/v1/roles", "{\"name\":\"treasury_approver\","
	    "\"permissions\":[{\"resource\":\"tx-requests/*\",\"actions\":"
	    "[\"approve\",\"reject\",\"read\"]}]}", "name", NULL, 0) != 0 ||
	    setup_post("/v1/tokens", "{\"userId\":\"bob\"}", "token", bob_token,
	    sizeof(bob_token)) != 0 ||
	    setup_post("/v1/tokens", "{\"userId\":\"carol\"}", "token",
	    carol_token, sizeof(carol_token)) != 0 ||
	    setup_post("/v1/tokens", "{\"userId\":\"dave\"}", "token",
	    dave_token, sizeof(dave_token)) != 0 ||
	    setup_post("/v1/users/bob/roles", "{\"roleId\":"
	    "\"treasury_approver\"}", "roleId", NULL, 0) != 0 ||
	    setup_post("/v1/users/carol/roles", "{\"roleId\":"
	    "\"treasury_approver\"}", "roleId", NULL, 0) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	int rc = 0;
	zgt_daemon_stop(&srv);
	/* Simulation against the closed port logs an error on purpose, so
	 * only a sanitizer report fails the run. */
	if (zgt_log_has_sanitizer_report(&srv)) {
		fprintf(stderr, "the daemon log has a sanitizer report: %s\n",
		    srv.log_path);
		rc = -1;
	} else {
		zgt_daemon_cleanup(&srv);
	}
	zgt_http_thread_done();
	return rc;
}

#define ALLOW_ALL "{\"name\":\"rest\",\"action\":\"allow\"}"

/* ---- policies ---- */

static void
policy_crud(void **state)
{
	char key[64];
	zgt_resp r;
	new_key(key);
	put_policy("crud", key, ALLOW_ALL, "", 201, &r);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    r.json, "policy"), "name")), "crud");
	assert_int_equal(json_array_size(json_object_get(r.json, "warnings")), 0);
	zgt_resp_free(&r);
	put_policy("crud", key, ALLOW_ALL, "", 200, &r);
	zgt_resp_free(&r);

	http("GET", "/v1/policies/transactions/crud", srv.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "name"), "crud");
	zgt_resp_free(&r);
	http("GET", "/v1/policies/transactions", srv.token, NULL, 200, &r);
	assert_true(strstr(r.body, "\"crud\"") != NULL);
	zgt_resp_free(&r);

	http_status("DELETE", "/v1/policies/transactions/crud", srv.token, NULL,
	    200);
	http_status("GET", "/v1/policies/transactions/crud", srv.token, NULL,
	    404);
	http_status("DELETE", "/v1/policies/transactions/crud", srv.token, NULL,
	    404);
}

static void
policy_name_must_match_path(void **state)
{
	zgt_resp r;
	http("PUT", "/v1/policies/transactions/one", srv.token, "{\"name\":"
	    "\"two\",\"rules\":[" ALLOW_ALL "]}", 400, &r);
	assert_true(message_has(&r, "name"));
	zgt_resp_free(&r);
}

static void
policy_needs_admin(void **state)
{
	http_status("PUT", "/v1/policies/transactions/mine", dave_token,
	    "{\"rules\":[" ALLOW_ALL "]}", 403);
}

static void
approval_count_above_holders_warns(void **state)
{
	char key[64];
	zgt_resp r;
	new_key(key);
	put_policy("warns", key, "{\"name\":\"all\",\"action\":"
	    "\"require_approval\",\"approval\":{\"count\":5,\"fromRole\":"
	    "\"treasury_approver\"}}", "", 201, &r);
	json_t *w = json_object_get(r.json, "warnings");
	assert_int_equal(json_array_size(w), 1);
	assert_non_null(strstr(json_string_value(json_array_get(w, 0)),
	    "only 2 users"));
	zgt_resp_free(&r);
}

/* A policy for a key id that does not exist, or with no rules, is
 * stored with warnings that describe its effect. */
static void
policy_without_effect_warns(void **state)
{
	zgt_resp r;
	http("PUT", "/v1/policies/transactions/typo", srv.token,
	    "{\"keys\":{\"ids\":[\"key_000000000000000000000000\"]},"
	    "\"rules\":[]}", 201, &r);
	json_t *w = json_object_get(r.json, "warnings");
	assert_int_equal(json_array_size(w), 2);
	assert_non_null(strstr(json_string_value(json_array_get(w, 0)),
	    "blocks every request"));
	assert_non_null(strstr(json_string_value(json_array_get(w, 1)),
	    "key_000000000000000000000000 does not exist"));
	zgt_resp_free(&r);
	http("PUT", "/v1/policies/transactions/nokeys", srv.token,
	    "{\"rules\":[{\"name\":\"all\",\"action\":\"allow\"}]}", 201,
	    &r);
	w = json_object_get(r.json, "warnings");
	assert_int_equal(json_array_size(w), 1);
	assert_non_null(strstr(json_string_value(json_array_get(w, 0)),
	    "covers no key"));
	zgt_resp_free(&r);
	http("DELETE", "/v1/policies/transactions/typo", srv.token, NULL, 200,
	    &r);
	zgt_resp_free(&r);
	http("DELETE", "/v1/policies/transactions/nokeys", srv.token, NULL, 200,
	    &r);
	zgt_resp_free(&r);
}

/* PUTs a policy whose rules are `rules` and expects a 400 naming field. */
static void
bad_policy(const char *rules, const char *extra, const char *field)
{
	char key[64];
	zgt_resp r;
	new_key(key);
	put_policy("bad", key, rules, extra, 400, &r);
	assert_string_equal(zgt_error_code(&r), "invalid_argument");
	assert_true(message_has(&r, field));
	zgt_resp_free(&r);
}

static void
bad_unknown_field(void **state)
{
	bad_policy(ALLOW_ALL, ",\"colour\":\"red\"", "colour");
}

static void
bad_duplicate_rule_names(void **state)
{
	bad_policy(ALLOW_ALL "," ALLOW_ALL, "", "rules[1].name");
}

static void
bad_role_missing(void **state)
{
	bad_policy("{\"name\":\"a\",\"action\":\"require_approval\","
	    "\"approval\":{\"count\":1,\"fromRole\":\"no_such_role\"}}", "",
	    "fromRole");
}

static void
bad_selector_length(void **state)
{
	bad_policy("{\"name\":\"a\",\"match\":{\"selectors\":[\"0xa9059c\"]},"
	    "\"action\":\"allow\"}", "", "selectors[0]");
}

static void
bad_negative_amount(void **state)
{
	bad_policy("{\"name\":\"a\",\"match\":{\"value\":{\"max\":\"-1\"}},"
	    "\"action\":\"allow\"}", "", "value.max");
}

static void
bad_fraction_amount(void **state)
{
	bad_policy("{\"name\":\"a\",\"match\":{\"value\":{\"max\":\"1.5\"}},"
	    "\"action\":\"allow\"}", "", "value.max");
}

static void
bad_timezone(void **state)
{
	bad_policy(ALLOW_ALL, ",\"limits\":[{\"name\":\"d\",\"scope\":\"key\","
	    "\"asset\":\"native\",\"window\":{\"type\":\"day\",\"timezone\":"
	    "\"Mars/Olympus_Mons\"},\"max\":\"10\"}]", "timezone");
}

static void
bad_simulate_without_rpc(void **state)
{
	bad_policy("{\"name\":\"a\",\"match\":{\"chainIds\":[\"1\"]},"
	    "\"action\":\"allow\",\"simulate\":true}", "", "simulate");
}

/* ---- the signing gate ---- */

static void
no_policy_signs(void **state)
{
	char key[64];
	new_key(key);
	sign_tx_status(key, DEST_B, "1", "0x", 200);
}

static void
block_by_destination(void **state)
{
	char key[64];
	zgt_resp r;
	new_key(key);
	put_policy_ok("dest", key, "{\"name\":\"known\",\"match\":"
	    "{\"destinations\":{\"allow\":[\"" DEST_A "\"]}},\"action\":"
	    "\"allow\"}", "");
	sign_tx_status(key, DEST_A, "1", "0x", 200);
	char body[1024];
	tx_body(body, sizeof(body), DEST_B, "1", "0x");
	sign_tx(key, body, 403, &r);
	assert_true(message_has(&r, "policy dest"));
	zgt_resp_free(&r);
}

static void
block_rule_names_rule(void **state)
{
	char key[64], body[1024];
	zgt_resp r;
	new_key(key);
	put_policy_ok("deny-b", key, "{\"name\":\"no-b\",\"match\":"
	    "{\"destinations\":{\"allow\":[\"" DEST_B "\"]}},\"action\":"
	    "\"block\"}," ALLOW_ALL, "");
	tx_body(body, sizeof(body), DEST_B, "1", "0x");
	sign_tx(key, body, 403, &r);
	assert_true(message_has(&r, "rule no-b of policy deny-b"));
	zgt_resp_free(&r);
	sign_tx_status(key, DEST_A, "1", "0x", 200);
}

static void
block_by_kind(void **state)
{
	char key[64], body[512];
	zgt_resp r;
	new_key(key);
	put_policy_ok("kinds", key, "{\"name\":\"no-deploy\",\"match\":"
	    "{\"kinds\":[\"contract_creation\"]},\"action\":\"block\"},"
	    ALLOW_ALL, "");
	snprintf(body, sizeof(body), "{\"chainId\":\"1337\",\"type\":2,"
	    "\"nonce\":\"0\",\"value\":\"0\",\"data\":\"0x6000\",\"gas\":"
	    "\"60000\",\"maxFeePerGas\":\"2\",\"maxPriorityFeePerGas\":\"1\"}");
	sign_tx(key, body, 403, &r);
	assert_true(message_has(&r, "no-deploy"));
	zgt_resp_free(&r);
	sign_tx_status(key, DEST_A, "1", "0x", 200);
}

static void
allow_by_selector(void **state)
{
	char key[64];
	new_key(key);
	put_policy_ok("selectors", key, "{\"name\":\"only-ping\",\"match\":"
	    "{\"selectors\":[\"0x5c36b186\"]},\"action\":\"allow\"}", "");
	sign_tx_status(key, DEST_A, "0", "0x5c36b186", 200);
	sign_tx_status(key, DEST_A, "0", "0x12345678", 403);
}

static void
value_range(void **state)
{
	char key[64];
	new_key(key);
	put_policy_ok("range", key, "{\"name\":\"small\",\"match\":{\"value\":"
	    "{\"min\":\"10\",\"max\":\"1000\"}},\"action\":\"allow\"}", "");
	sign_tx_status(key, DEST_A, "1000", "0x", 200);
	sign_tx_status(key, DEST_A, "1001", "0x", 403);
	sign_tx_status(key, DEST_A, "9", "0x", 403);
}

static void
erc20_amount(void **state)
{
	char key[64];
	new_key(key);
	put_policy_ok("erc20", key, "{\"name\":\"small-token\",\"match\":"
	    "{\"kinds\":[\"erc20_transfer\"],\"asset\":\"" TOKEN "\","
	    "\"value\":{\"max\":\"100\"}},\"action\":\"allow\"}", "");
	/* transfer(DEST_A, 100) and transfer(DEST_A, 101). */
	sign_tx_status(key, TOKEN, "0", "0xa9059cbb" WORD_DEST_A
	    "0000000000000000000000000000000000000000000000000000000000000064",
	    200);
	sign_tx_status(key, TOKEN, "0", "0xa9059cbb" WORD_DEST_A
	    "0000000000000000000000000000000000000000000000000000000000000065",
	    403);
}

static void
unlimited_approval_blocked(void **state)
{
	char key[64];
	new_key(key);
	put_policy_ok("approvals", key, "{\"name\":\"no-unlimited\",\"match\":"
	    "{\"kinds\":[\"erc20_unlimited_approve\"]},\"action\":\"block\"},"
	    ALLOW_ALL, "");
	sign_tx_status(key, TOKEN, "0", "0x095ea7b3" WORD_DEST_A WORD_MAX, 403);
	sign_tx_status(key, TOKEN, "0", "0x095ea7b3" WORD_DEST_A
	    "0000000000000000000000000000000000000000000000000000000000000001",
	    200);
}

static void
fee_caps(void **state)
{
	char key[64], body[512];
	zgt_resp r;
	new_key(key);
	put_policy_ok("fees", key, ALLOW_ALL, ",\"feeCaps\":{\"1337\":"
	    "{\"maxFeePerGas\":\"1000000000\",\"maxGas\":\"100000\"}}");
	/* tx_body's maxFeePerGas is 2 gwei, above the cap of 1 gwei. */
	tx_body(body, sizeof(body), DEST_A, "1", "0x");
	sign_tx(key, body, 403, &r);
	zgt_resp_free(&r);
	snprintf(body, sizeof(body), "{\"chainId\":\"1337\",\"type\":2,"
	    "\"nonce\":\"0\",\"to\":\"" DEST_A "\",\"value\":\"1\",\"gas\":"
	    "\"200000\",\"maxFeePerGas\":\"1000\",\"maxPriorityFeePerGas\":"
	    "\"1\"}");
	sign_tx(key, body, 403, &r);
	zgt_resp_free(&r);
	snprintf(body, sizeof(body), "{\"chainId\":\"1337\",\"type\":2,"
	    "\"nonce\":\"0\",\"to\":\"" DEST_A "\",\"value\":\"1\",\"gas\":"
	    "\"21000\",\"maxFeePerGas\":\"1000\",\"maxPriorityFeePerGas\":"
	    "\"1\"}");
	sign_tx(key, body, 200, &r);
	zgt_resp_free(&r);
}

static void
messages_follow_kind_rules(void **state)
{
	char key[64];
	zgt_resp r;
	new_key(key);
	put_policy_ok("messages", key, "{\"name\":\"no-messages\",\"match\":"
	    "{\"kinds\":[\"personal_message\"]},\"action\":\"block\"},"
	    ALLOW_ALL, "");
	sign_on(&srv, key, "sign-message", srv.token, "{\"message\":\"hi\"}",
	    403, &r);
	zgt_resp_free(&r);
}

static void
raw_digest_blocked_under_policy(void **state)
{
	char key[64];
	zgt_resp r;
	const char *digest = "{\"digest\":\"0x00000000000000000000000000000000"
	    "00000000000000000000000000000001\"}";
	new_key(key);
	sign_on(&srv, key, "sign", srv.token, digest, 200, &r);
	zgt_resp_free(&r);
	put_policy_ok("digests", key, ALLOW_ALL, "");
	sign_on(&srv, key, "sign", srv.token, digest, 403, &r);
	assert_true(message_has(&r, "raw digest"));
	zgt_resp_free(&r);
}

static void
evaluate_without_signing(void **state)
{
	char key[64], body[1024], tx[512];
	zgt_resp r;
	new_key(key);
	put_policy_ok("eval", key, "{\"name\":\"big\",\"match\":{\"value\":"
	    "{\"min\":\"1000\"}},\"action\":\"require_approval\",\"approval\":"
	    "{\"count\":2,\"fromRole\":\"treasury_approver\"}},"
	    "{\"name\":\"small\",\"match\":{\"value\":{\"max\":\"999\"}},"
	    "\"action\":\"allow\"}", "");
	tx_body(tx, sizeof(tx), DEST_A, "5", "0x");
	snprintf(body, sizeof(body), "{\"keyId\":\"%s\",\"transaction\":%s}",
	    key, tx);
	http("POST", "/v1/policies/transactions/evaluate", srv.token, body, 200,
	    &r);
	assert_string_equal(zgt_str(&r, "decision"), "allow");
	assert_string_equal(zgt_str(&r, "rule"), "small");
	zgt_resp_free(&r);

	tx_body(tx, sizeof(tx), DEST_A, "5000", "0x");
	snprintf(body, sizeof(body), "{\"keyId\":\"%s\",\"transaction\":%s}",
	    key, tx);
	http("POST", "/v1/policies/transactions/evaluate", srv.token, body, 200,
	    &r);
	assert_string_equal(zgt_str(&r, "decision"), "require_approval");
	assert_string_equal(zgt_str(&r, "rule"), "big");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    r.json, "approval"), "count")), 2);
	zgt_resp_free(&r);

	snprintf(body, sizeof(body), "{\"keyId\":\"%s\",\"message\":\"hi\"}",
	    key);
	http("POST", "/v1/policies/transactions/evaluate", srv.token, body, 200,
	    &r);
	assert_string_equal(zgt_str(&r, "decision"), "block");
	zgt_resp_free(&r);
}

/* ---- spending limits ---- */

#define LIMIT_10 ",\"limits\":[{\"name\":\"ten\",\"scope\":\"key\"," \
	"\"asset\":\"native\",\"window\":{\"type\":\"day\",\"timezone\":"  \
	"\"UTC\"},\"max\":\"10\"}]"

struct racer {
	const char *key;
	long status;
};

static void *
race_sign(void *arg)
{
	struct racer *rc = arg;
	char path[160], body[1024];
	zgt_resp r;
	snprintf(path, sizeof(path), "/v1/keys/%s/sign-transaction", rc->key);
	tx_body(body, sizeof(body), DEST_A, "1", "0x");
	rc->status = zgt_http(&srv, "POST", path, srv.token, body, &r) == 0 ?
	    r.status : -1;
	if (rc->status != 200 && rc->status != 403)
		fprintf(stderr, "racing request: %ld %s\n", rc->status,
		    r.body ? r.body : "");
	zgt_resp_free(&r);
	zgt_http_thread_done();
	return NULL;
}

static void
limit_exact_under_concurrency(void **state)
{
	char key[64];
	pthread_t threads[CONCURRENT];
	struct racer racers[CONCURRENT];
	int signed_n = 0, refused = 0;

	new_key(key);
	put_policy_ok("race", key, ALLOW_ALL, LIMIT_10);
	for (int i = 0; i < CONCURRENT; i++) {
		racers[i] = (struct racer){key, 0};
		assert_int_equal(pthread_create(&threads[i], NULL, race_sign,
		    &racers[i]), 0);
	}
	for (int i = 0; i < CONCURRENT; i++) {
		pthread_join(threads[i], NULL);
		signed_n += racers[i].status == 200;
		refused += racers[i].status == 403;
	}
	assert_int_equal(signed_n, 10);
	assert_int_equal(refused, CONCURRENT - 10);
}

static void
limit_status_and_release(void **state)
{
	char key[64], body[1024], id[64];
	zgt_resp r;
	new_key(key);
	put_policy_ok("release", key, ALLOW_ALL, LIMIT_10);
	tx_body(body, sizeof(body), DEST_A, "10", "0x");
	sign_tx(key, body, 200, &r);
	snprintf(id, sizeof(id), "%s", zgt_str(&r, "requestId"));
	assert_true(strncmp(id, "txr_", 4) == 0);
	zgt_resp_free(&r);

	sign_tx(key, body, 403, &r);
	assert_true(message_has(&r, "spending limit ten"));
	assert_true(message_has(&r, "resets at"));
	zgt_resp_free(&r);

	http("GET", "/v1/limits", srv.token, NULL, 200, &r);
	bool found = false;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(r.json, "items"), i, item) {
		const char *p = json_string_value(json_object_get(item,
		    "policy"));
		if (p == NULL || strcmp(p, "release") != 0)
			continue;
		found = true;
		assert_string_equal(json_string_value(json_object_get(item,
		    "used")), "10");
		assert_string_equal(json_string_value(json_object_get(item,
		    "remaining")), "0");
		assert_non_null(json_object_get(item, "resetsAt"));
	}
	assert_true(found);
	zgt_resp_free(&r);

	txreq_post(id, "release", srv.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "released");
	zgt_resp_free(&r);
	txreq_post_status(id, "release", srv.token, 410);
	sign_tx(key, body, 200, &r);
	zgt_resp_free(&r);
}

/* ---- approvals ---- */

#define APPROVE_2 "{\"name\":\"two\",\"action\":\"require_approval\"," \
	"\"approval\":{\"count\":2,\"fromRole\":\"treasury_approver\"}}"
#define APPROVE_1 "{\"name\":\"one\",\"action\":\"require_approval\"," \
	"\"approval\":{\"count\":1,\"fromRole\":\"treasury_approver\"}}"

/* Signs a transaction of value with key, expects 202 and copies the
 * request id. */
static void
request_approval(const char *key, const char *value, char id[64])
{
	char body[1024];
	zgt_resp r;
	tx_body(body, sizeof(body), DEST_A, value, "0x");
	sign_tx(key, body, 202, &r);
	assert_string_equal(zgt_str(&r, "status"), "pending_approval");
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "approvals")), 0);
	snprintf(id, 64, "%s", zgt_str(&r, "requestId"));
	zgt_resp_free(&r);
}

static void
approval_m_of_n(void **state)
{
	char key[64], id[64], path[128];
	zgt_resp r;
	new_key(key);
	put_policy_ok("mofn", key, APPROVE_2, "");
	request_approval(key, "1", id);

	txreq_post_status(id, "approve", srv.token, 403);     /* requester */
	txreq_post_status(id, "approve", dave_token, 404);    /* no role */
	txreq_post(id, "approve", bob_token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "pending_approval");
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "approvals")), 1);
	zgt_resp_free(&r);
	txreq_post_status(id, "approve", bob_token, 409);     /* twice */
	txreq_post(id, "approve", carol_token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "signed");
	zgt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/tx-requests/%s", id);
	http("GET", path, srv.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "signed");
	json_t *result = json_object_get(r.json, "result");
	const char *raw = json_string_value(json_object_get(result,
	    "rawTransaction"));
	assert_non_null(raw);
	assert_true(strncmp(raw, "0x02", 4) == 0);
	assert_int_equal(json_array_size(json_object_get(r.json,
	    "approvedBy")), 2);
	zgt_resp_free(&r);
	txreq_post_status(id, "approve", dave_token, 404);
}

static void
approval_by_role_holder_only(void **state)
{
	char key[64], id[64];
	zgt_resp r;
	new_key(key);
	http_status("POST", "/v1/roles", srv.token, "{\"name\":"
	    "\"desk_approver\",\"permissions\":[{\"resource\":"
	    "\"tx-requests/*\",\"actions\":[\"approve\"]}]}", 201);
	put_policy_ok("holders", key, "{\"name\":\"desk\",\"action\":"
	    "\"require_approval\",\"approval\":{\"count\":1,\"fromRole\":"
	    "\"desk_approver\"}}", "");
	request_approval(key, "1", id);
	/* bob may use the route but does not hold the rule's role. */
	txreq_post(id, "approve", bob_token, NULL, 403, &r);
	assert_true(message_has(&r, "desk_approver"));
	zgt_resp_free(&r);
	http_status("POST", "/v1/users/dave/roles", srv.token,
	    "{\"roleId\":\"desk_approver\"}", 201);
	txreq_post(id, "approve", dave_token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "signed");
	zgt_resp_free(&r);
}

/*
 * A request left "approved" but unsigned (the daemon stopped while the
 * last approver's call was signing) goes back to pending_approval when it
 * is read long after, without that last approval. The test writes the
 * stored state with the sqlite3 shell, as such a stop would leave it.
 */
static void
stale_approval_returns_to_pending(void **state)
{
	char key[64], id[64], path[128], cmd[1024];
	zgt_resp r;
	new_key(key);
	put_policy_ok("stale", key, APPROVE_2, "");
	request_approval(key, "1", id);
	txreq_post(id, "approve", bob_token, NULL, 200, &r);
	zgt_resp_free(&r);
	/* The daemon writes the same database (audit events), so the shell
	 * waits for its lock instead of failing at once. */
	snprintf(cmd, sizeof(cmd), "sqlite3 -cmd '.timeout 30000' "
	    "'%s/zguard.db' \"UPDATE objects "
	    "SET body=json_set(body, '$.status', 'approved', '$.updatedAt', "
	    "'2020-01-01T00:00:00Z') WHERE kind='tx_request' AND "
	    "id='%s';\"", srv.data, id);
	assert_int_equal(system(cmd), 0);

	snprintf(path, sizeof(path), "/v1/tx-requests/%s", id);
	http("GET", path, srv.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "pending_approval");
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "approvals")), 0);
	zgt_resp_free(&r);
	txreq_post(id, "approve", bob_token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "pending_approval");
	zgt_resp_free(&r);
	txreq_post(id, "approve", carol_token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "signed");
	zgt_resp_free(&r);
}

static void
rejection_rejects(void **state)
{
	char key[64], id[64];
	zgt_resp r;
	new_key(key);
	put_policy_ok("reject", key, APPROVE_2, "");
	request_approval(key, "1", id);
	txreq_post(id, "reject", bob_token, "{\"reason\":\"unknown payee\"}",
	    200, &r);
	assert_string_equal(zgt_str(&r, "status"), "rejected");
	zgt_resp_free(&r);
	txreq_post_status(id, "approve", carol_token, 409);
}

static void
approval_rechecks_limits(void **state)
{
	char key[64], first[64], second[64], path[128];
	zgt_resp r;
	new_key(key);
	put_policy_ok("recheck", key, APPROVE_1, LIMIT_10);
	request_approval(key, "7", first);
	request_approval(key, "7", second);
	txreq_post(first, "approve", bob_token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "signed");
	zgt_resp_free(&r);
	txreq_post(second, "approve", bob_token, NULL, 403, &r);
	assert_true(message_has(&r, "spending limit ten"));
	zgt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/tx-requests/%s", second);
	http("GET", path, srv.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "pending_approval");
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "approvals")), 0);
	zgt_resp_free(&r);

	/* A limit already used up refuses a new request at once instead of
	 * asking approvers for what could not be signed. */
	char body[1024];
	tx_body(body, sizeof(body), DEST_A, "7", "0x");
	sign_tx(key, body, 403, &r);
	assert_true(message_has(&r, "spending limit ten"));
	zgt_resp_free(&r);

	/* Releasing the first makes room, and the approval goes through. */
	txreq_post_status(first, "release", srv.token, 200);
	txreq_post(second, "approve", bob_token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "signed");
	zgt_resp_free(&r);
}

/*
 * Counts the successful events of type on resource by user, waiting up
 * to 5 s for at least want of them, because the audit writer may lag the
 * response by a moment.
 */
static size_t
audit_count(const char *resource, const char *type, const char *user,
    size_t want)
{
	size_t found = 0;
	for (int waited = 0; waited <= 5000; waited += 100) {
		char path[256];
		zgt_resp r;
		size_t i;
		json_t *item;
		snprintf(path, sizeof(path), "/v1/audit/events?limit=1000"
		    "&resource=%s", resource);
		http("GET", path, srv.token, NULL, 200, &r);
		found = 0;
		json_array_foreach(json_object_get(r.json, "events"), i, item) {
			json_t *ev = json_object_get(item, "event");
			const char *t = json_string_value(json_object_get(ev,
			    "eventType"));
			const char *u = json_string_value(json_object_get(ev,
			    "userId"));
			if (t != NULL && strcmp(t, type) == 0 && u != NULL &&
			    strcmp(u, user) == 0 &&
			    json_is_true(json_object_get(ev, "success")))
				found++;
		}
		zgt_resp_free(&r);
		if (found >= want)
			break;
		sleep_ms(100);
	}
	return found;
}

static void
steps_are_audited(void **state)
{
	char key[64], id[64], resource[128];
	new_key(key);
	put_policy_ok("audited", key, APPROVE_1, "");
	assert_int_equal(audit_count("policies/transactions/audited",
	    "configuration_change", "admin", 1), 1);
	request_approval(key, "1", id);
	txreq_post_status(id, "approve", bob_token, 200);
	snprintf(resource, sizeof(resource), "tx-requests/%s", id);
	assert_int_equal(audit_count(resource, "transaction", "bob", 1), 1);
	snprintf(resource, sizeof(resource), "keys/%s", key);
	assert_int_equal(audit_count(resource, "key_usage", "bob", 1), 1);
}

static void
unknown_request_not_found(void **state)
{
	txreq_post_status("txr_000000000000000000000000", "approve", bob_token,
	    404);
	http_status("GET", "/v1/tx-requests/txr_000000000000000000000000",
	    srv.token, NULL, 404);
}

/* ---- emergency stops ---- */

/* Creates a stop with scope and returns its id. */
static void
stop(const char *scope, char id[64])
{
	char body[512];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"scope\":%s,\"reason\":\"incident "
	    "drill\"}", scope);
	http("POST", "/v1/emergency-stop", srv.token, body, 201, &r);
	snprintf(id, 64, "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
}

static void
lift(const char *id)
{
	char path[160];
	snprintf(path, sizeof(path), "/v1/emergency-stop/%s", id);
	http_status("DELETE", path, srv.token, "{\"reason\":\"drill over\"}",
	    200);
}

static void
stop_key(void **state)
{
	char key[64], other[64], scope[128], id[64], path[160], body[512];
	zgt_resp r;
	new_key(key);
	new_key(other);
	snprintf(scope, sizeof(scope), "{\"type\":\"key\",\"keyId\":\"%s\"}",
	    key);
	stop(scope, id);
	tx_body(body, sizeof(body), DEST_A, "1", "0x");
	sign_tx(key, body, 403, &r);
	assert_true(message_has(&r, id));
	zgt_resp_free(&r);
	sign_tx_status(other, DEST_A, "1", "0x", 200);

	http("GET", "/v1/emergency-stop", srv.token, NULL, 200, &r);
	assert_non_null(strstr(r.body, id));
	zgt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/emergency-stop/%s", id);
	http_status("DELETE", path, bob_token, "{\"reason\":\"mine\"}", 403);
	http_status("DELETE", path, srv.token, NULL, 400);  /* no reason */
	lift(id);
	http_status("DELETE", path, srv.token, "{\"reason\":\"again\"}", 404);
	sign_tx_status(key, DEST_A, "1", "0x", 200);
}

static void
stop_policy(void **state)
{
	char key[64], other[64], id[64];
	new_key(key);
	new_key(other);
	put_policy_ok("stopped-policy", key, ALLOW_ALL, "");
	stop("{\"type\":\"policy\",\"policy\":\"stopped-policy\"}", id);
	sign_tx_status(key, DEST_A, "1", "0x", 403);
	sign_tx_status(other, DEST_A, "1", "0x", 200);
	lift(id);
	sign_tx_status(key, DEST_A, "1", "0x", 200);
}

static void
stop_all(void **state)
{
	char key[64], id[64];
	new_key(key);
	stop("{\"type\":\"all\"}", id);
	sign_tx_status(key, DEST_A, "1", "0x", 403);
	lift(id);
	sign_tx_status(key, DEST_A, "1", "0x", 200);
}

static void
stop_refuses_pending(void **state)
{
	char key[64], req[64], id[64], path[128];
	zgt_resp r;
	new_key(key);
	put_policy_ok("pending-stop", key, APPROVE_1, "");
	request_approval(key, "1", req);
	stop("{\"type\":\"all\"}", id);
	txreq_post(req, "approve", bob_token, NULL, 403, &r);
	assert_true(message_has(&r, "emergency stop"));
	zgt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/tx-requests/%s", req);
	http("GET", path, srv.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "pending_approval");
	zgt_resp_free(&r);
	lift(id);
	txreq_post(req, "approve", bob_token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "signed");
	zgt_resp_free(&r);
}

static void
stop_bad_input(void **state)
{
	zgt_resp r;
	http("POST", "/v1/emergency-stop", srv.token, "{\"scope\":{\"type\":"
	    "\"all\"}}", 400, &r);
	assert_true(message_has(&r, "reason"));
	zgt_resp_free(&r);
	http("POST", "/v1/emergency-stop", srv.token, "{\"scope\":{\"type\":"
	    "\"planet\"},\"reason\":\"x\"}", 400, &r);
	assert_true(message_has(&r, "scope.type"));
	zgt_resp_free(&r);
	http("POST", "/v1/emergency-stop", srv.token, "{\"scope\":{\"type\":"
	    "\"policy\",\"policy\":\"no-such-policy\"},\"reason\":\"x\"}", 400,
	    &r);
	assert_true(message_has(&r, "scope.policy"));
	zgt_resp_free(&r);
	http("POST", "/v1/emergency-stop", srv.token, "{\"scope\":{\"type\":"
	    "\"all\"},\"reason\":5}", 400, &r);
	assert_true(message_has(&r, "must be a string"));
	assert_true(message_has(&r, "got 5"));
	zgt_resp_free(&r);
	http("POST", "/v1/emergency-stop", srv.token, "{\"scope\":{\"type\":"
	    "\"all\",\"keyId\":\"key_x\"},\"reason\":\"x\"}", 400, &r);
	assert_true(message_has(&r, "\"keyId\" in scope"));
	zgt_resp_free(&r);
}

/* ---- simulation against a node that cannot be reached ---- */

static void
simulation_unreachable_502(void **state)
{
	char key[64], body[512];
	zgt_resp r;
	new_key(key);
	put_policy_ok("sim-down", key, "{\"name\":\"sim\",\"match\":"
	    "{\"chainIds\":[\"" UNREACHABLE_CHAIN "\"]},\"action\":\"allow\","
	    "\"simulate\":true}", "");
	snprintf(body, sizeof(body), "{\"chainId\":\"" UNREACHABLE_CHAIN "\","
	    "\"type\":2,\"nonce\":\"0\",\"to\":\"" DEST_A "\",\"value\":\"1\","
	    "\"gas\":\"21000\",\"maxFeePerGas\":\"2\",\"maxPriorityFeePerGas\":"
	    "\"1\"}");
	sign_tx(key, body, 502, &r);
	assert_string_equal(zgt_error_code(&r), "upstream_error");
	zgt_resp_free(&r);

	put_policy("sim-down", key, "{\"name\":\"sim\",\"match\":"
	    "{\"chainIds\":[\"" UNREACHABLE_CHAIN "\"]},\"action\":\"allow\","
	    "\"simulate\":true,\"allowWithoutSimulation\":true}", "", 200, &r);
	zgt_resp_free(&r);
	sign_tx(key, body, 200, &r);
	zgt_resp_free(&r);

	char path[160];
	snprintf(path, sizeof(path), "/v1/keys/%s/simulate-transaction", key);
	http("POST", path, srv.token, body, 502, &r);
	zgt_resp_free(&r);
}

/* ---- a daemon that requires a policy and expires requests fast ---- */

static void
expiry_and_require_policy(void **state)
{
	zgt_daemon d;
	char key[64], covered[64], id[64], path[160], body[4096], tok[128];
	zgt_resp r;

	assert_int_equal(zgt_daemon_start(&d, "[txpolicy]\nrequire_policy = "
	    "true\nmax_approval_seconds = 1\n"), 0);
	new_key_on(&d, key);
	new_key_on(&d, covered);
	tx_body(body, sizeof(body), DEST_A, "1", "0x");
	sign_on(&d, key, "sign-transaction", d.token, body, 403, &r);
	assert_true(message_has(&r, "require_policy"));
	zgt_resp_free(&r);

	http_on(&d, "POST", "/v1/roles", d.token, "{\"name\":\"approver\","
	    "\"permissions\":[{\"resource\":\"tx-requests/*\",\"actions\":"
	    "[\"approve\"]}]}", 201, &r);
	zgt_resp_free(&r);
	http_on(&d, "POST", "/v1/tokens", d.token, "{\"userId\":\"erin\"}", 201,
	    &r);
	snprintf(tok, sizeof(tok), "%s", zgt_str(&r, "token"));
	zgt_resp_free(&r);
	http_on(&d, "POST", "/v1/users/erin/roles", d.token, "{\"roleId\":"
	    "\"approver\"}", 201, &r);
	zgt_resp_free(&r);
	snprintf(body, sizeof(body), "{\"keys\":{\"ids\":[\"%s\"]},\"rules\":"
	    "[{\"name\":\"one\",\"action\":\"require_approval\",\"approval\":"
	    "{\"count\":1,\"fromRole\":\"approver\"}}]}", covered);
	http_on(&d, "PUT", "/v1/policies/transactions/fast", d.token, body,
	    201, &r);
	zgt_resp_free(&r);

	tx_body(body, sizeof(body), DEST_A, "1", "0x");
	sign_on(&d, covered, "sign-transaction", d.token, body, 202, &r);
	snprintf(id, sizeof(id), "%s", zgt_str(&r, "requestId"));
	zgt_resp_free(&r);
	sleep_ms(1500);
	snprintf(path, sizeof(path), "/v1/tx-requests/%s/approve", id);
	http_on(&d, "POST", path, tok, NULL, 410, &r);
	zgt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/tx-requests/%s", id);
	http_on(&d, "GET", path, d.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "expired");
	zgt_resp_free(&r);

	zgt_daemon_stop(&d);
	assert_false(zgt_log_has_errors(&d));
	zgt_daemon_cleanup(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(policy_crud),
		cmocka_unit_test(policy_name_must_match_path),
		cmocka_unit_test(policy_needs_admin),
		cmocka_unit_test(approval_count_above_holders_warns),
		cmocka_unit_test(policy_without_effect_warns),
		cmocka_unit_test(bad_unknown_field),
		cmocka_unit_test(bad_duplicate_rule_names),
		cmocka_unit_test(bad_role_missing),
		cmocka_unit_test(bad_selector_length),
		cmocka_unit_test(bad_negative_amount),
		cmocka_unit_test(bad_fraction_amount),
		cmocka_unit_test(bad_timezone),
		cmocka_unit_test(bad_simulate_without_rpc),
		cmocka_unit_test(no_policy_signs),
		cmocka_unit_test(block_by_destination),
		cmocka_unit_test(block_rule_names_rule),
		cmocka_unit_test(block_by_kind),
		cmocka_unit_test(allow_by_selector),
		cmocka_unit_test(value_range),
		cmocka_unit_test(erc20_amount),
		cmocka_unit_test(unlimited_approval_blocked),
		cmocka_unit_test(fee_caps),
		cmocka_unit_test(messages_follow_kind_rules),
		cmocka_unit_test(raw_digest_blocked_under_policy),
		cmocka_unit_test(evaluate_without_signing),
		cmocka_unit_test(limit_exact_under_concurrency),
		cmocka_unit_test(limit_status_and_release),
		cmocka_unit_test(approval_m_of_n),
		cmocka_unit_test(approval_by_role_holder_only),
		cmocka_unit_test(stale_approval_returns_to_pending),
		cmocka_unit_test(rejection_rejects),
		cmocka_unit_test(approval_rechecks_limits),
		cmocka_unit_test(steps_are_audited),
		cmocka_unit_test(unknown_request_not_found),
		cmocka_unit_test(stop_key),
		cmocka_unit_test(stop_policy),
		cmocka_unit_test(stop_all),
		cmocka_unit_test(stop_refuses_pending),
		cmocka_unit_test(stop_bad_input),
		cmocka_unit_test(simulation_unreachable_502),
		cmocka_unit_test(expiry_and_require_policy),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
