/*
 * Simulation before signing, over HTTP against the real daemon and a
 * ganache 7.9.2 node (tests/js/sim_contracts.js, contracts from
 * tests/data/sim compiled with solc-js 0.8.26) on 127.0.0.1. A rule with
 * "simulate": true blocks a call that reverts with a message (with that
 * message), one that panics (with the panic code's meaning) and one that
 * reverts with a custom error, and signs a call that succeeds. A sender
 * without ether is blocked by the balance check. POST
 * /v1/keys/{id}/simulate-transaction reports the same without signing.
 * The test needs node with tests/node_modules under $ZGUARD_SOURCE_DIR
 * and is skipped only when node is missing.
 */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "zgtest.h"

/* The keys sim_contracts.js funds (0x11...11) and leaves empty
 * (0x22...22). They hold value on no chain but the test's own node. */
#define FUNDED_KEY "0x1111111111111111111111111111111111111111111111111111111111111111"
#define UNFUNDED_KEY "0x2222222222222222222222222222222222222222222222222222222222222222"

static zgt_daemon srv;
static bool skipped;
static pid_t node_pid;
static int node_stdin = -1;   /* closing it stops the node */
static json_t *ready;         /* the line sim_contracts.js printed */
static char funded[64], unfunded[64];

static void
node_stop(void)
{
	if (node_stdin >= 0)
		close(node_stdin);
	node_stdin = -1;
	if (node_pid > 0) {
		kill(node_pid, SIGTERM);
		waitpid(node_pid, NULL, 0);
	}
	node_pid = 0;
}

/* Starts sim_contracts.js and reads its line, waiting at most 120 s. */
static int
node_start(const char *dir)
{
	char script[640], sources[640], line[8192];
	int in[2], out[2];

	snprintf(script, sizeof(script), "%s/tests/js/sim_contracts.js", dir);
	snprintf(sources, sizeof(sources), "%s/tests/data/sim", dir);
	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	if ((node_pid = fork()) < 0)
		return -1;
	if (node_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execlp("node", "node", script, sources, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	node_stdin = in[1];

	size_t got = 0;
	struct pollfd p = {.fd = out[0], .events = POLLIN};
	while (got < sizeof(line) - 1 && memchr(line, '\n', got) == NULL) {
		if (poll(&p, 1, 120000) <= 0)
			break;
		ssize_t r = read(out[0], line + got, sizeof(line) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(out[0]);
	line[got] = '\0';
	ready = json_loads(line, 0, NULL);
	if (ready == NULL || json_object_get(ready, "url") == NULL) {
		fprintf(stderr, "sim_contracts.js did not start: %s\n", line);
		return -1;
	}
	return 0;
}

/* Imports private key hex as admin and copies the new key's id. */
static int
import_key(const char *hex, char id[64])
{
	char body[256];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"algorithm\":\"secp256k1\","
	    "\"privateKey\":\"%s\",\"label\":\"sim\"}", hex);
	if (zgt_http(&srv, "POST", "/v1/keys/import", srv.token, body, &r) != 0)
		return -1;
	int rc = r.status == 201 ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "import: %ld %s\n", r.status, r.body ? r.body : "");
	snprintf(id, 64, "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
	return rc;
}

/* Stores a policy for both keys that simulates on chain 1337. */
static int
put_policy(void)
{
	char body[1024];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"keys\":{\"ids\":[\"%s\",\"%s\"]},"
	    "\"rules\":[{\"name\":\"simulated\",\"match\":{\"chainIds\":"
	    "[\"1337\"]},\"action\":\"allow\",\"simulate\":true}]}", funded,
	    unfunded);
	if (zgt_http(&srv, "PUT", "/v1/policies/transactions/sim", srv.token,
	    body, &r) != 0)
		return -1;
	int rc = r.status == 201 ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "policy: %ld %s\n", r.status, r.body ? r.body : "");
	zgt_resp_free(&r);
	return rc;
}

static int
group_teardown(void **state)
{
	int rc = 0;
	if (srv.pid > 0) {
		zgt_daemon_stop(&srv);
		if (zgt_log_has_errors(&srv)) {
			fprintf(stderr, "the daemon log has errors: %s\n",
			    srv.log_path);
			rc = -1;
		} else {
			zgt_daemon_cleanup(&srv);
		}
	}
	node_stop();
	json_decref(ready);
	ready = NULL;
	zgt_http_thread_done();
	return rc;
}

static int
group_setup(void **state)
{
	char ini[512];
	if (system("node --version >/dev/null 2>&1") != 0) {
		skipped = true;
		return 0;
	}
	const char *dir = getenv("ZGUARD_SOURCE_DIR");
	if (node_start(dir ? dir : ".") != 0)
		goto fail;
	snprintf(ini, sizeof(ini), "[rpc]\n1337 = %s\n",
	    json_string_value(json_object_get(ready, "url")));
	if (zgt_daemon_start(&srv, ini) != 0 ||
	    import_key(FUNDED_KEY, funded) != 0 ||
	    import_key(UNFUNDED_KEY, unfunded) != 0 || put_policy() != 0)
		goto fail;
	return 0;
fail:
	/* cmocka skips the group teardown when the setup fails. */
	group_teardown(state);
	return -1;
}

static void
skip_without_node(void)
{
	if (skipped) {
		print_message("skipped: node is not installed\n");
		skip();
	}
}

/* A transaction from key to the contract call `name` of ready.calls. */
static void
call_body(const char *name, char *out, size_t outsz)
{
	json_t *call = json_object_get(json_object_get(ready, "calls"), name);
	snprintf(out, outsz, "{\"chainId\":\"1337\",\"type\":2,\"nonce\":\"0\","
	    "\"to\":\"%s\",\"value\":\"0\",\"data\":\"%s\",\"gas\":\"200000\","
	    "\"maxFeePerGas\":\"100000000000\",\"maxPriorityFeePerGas\":"
	    "\"1000000000\"}", json_string_value(json_object_get(call, "to")),
	    json_string_value(json_object_get(call, "data")));
}

/* POSTs the call to /v1/keys/{key}/<op>, expecting status. */
static void
post_call(const char *key, const char *op, const char *call, long status,
    zgt_resp *r)
{
	char path[160], body[2048];
	call_body(call, body, sizeof(body));
	snprintf(path, sizeof(path), "/v1/keys/%s/%s", key, op);
	assert_int_equal(zgt_http(&srv, "POST", path, srv.token, body, r), 0);
	if (r->status != status)
		fprintf(stderr, "%s %s: expected %ld, got %ld %s\n", op, call,
		    status, r->status, r->body ? r->body : "");
	assert_int_equal(r->status, status);
}

static bool
message_has(const zgt_resp *r, const char *needle)
{
	const char *m = json_string_value(json_object_get(json_object_get(
	    r->json, "error"), "message"));
	return m != NULL && strstr(m, needle) != NULL;
}

static void
revert_message_blocks(void **state)
{
	zgt_resp r;
	skip_without_node();
	post_call(funded, "sign-transaction", "message", 403, &r);
	assert_true(message_has(&r, "withdrawals are paused"));
	zgt_resp_free(&r);
}

static void
panic_blocks_with_meaning(void **state)
{
	zgt_resp r;
	skip_without_node();
	post_call(funded, "sign-transaction", "panic", 403, &r);
	assert_true(message_has(&r, "division or modulo by zero"));
	zgt_resp_free(&r);
}

static void
custom_error_blocks(void **state)
{
	zgt_resp r;
	skip_without_node();
	post_call(funded, "sign-transaction", "custom", 403, &r);
	assert_true(message_has(&r, "custom error 0x"));
	zgt_resp_free(&r);
}

static void
success_signs(void **state)
{
	zgt_resp r;
	skip_without_node();
	post_call(funded, "sign-transaction", "success", 200, &r);
	assert_true(strncmp(zgt_str(&r, "rawTransaction"), "0x02", 4) == 0);
	zgt_resp_free(&r);
}

static void
empty_balance_blocks(void **state)
{
	zgt_resp r;
	skip_without_node();
	post_call(unfunded, "sign-transaction", "success", 403, &r);
	assert_true(message_has(&r, "does not cover"));
	zgt_resp_free(&r);
}

/* A plain transfer of ether the sender does not have reverts in the
 * node without a reason, so the block message must name the balance. */
static void
unfunded_transfer_names_balance(void **state)
{
	char path[160];
	zgt_resp r;
	skip_without_node();
	snprintf(path, sizeof(path), "/v1/keys/%s/sign-transaction", unfunded);
	assert_int_equal(zgt_http(&srv, "POST", path, srv.token,
	    "{\"chainId\":\"1337\",\"type\":2,\"nonce\":\"0\",\"to\":"
	    "\"0x3535353535353535353535353535353535353535\",\"value\":"
	    "\"1000000000000000\",\"gas\":\"21000\",\"maxFeePerGas\":"
	    "\"100000000000\",\"maxPriorityFeePerGas\":\"1000000000\"}", &r), 0);
	assert_int_equal(r.status, 403);
	assert_true(message_has(&r, "does not cover"));
	zgt_resp_free(&r);
}

static void
simulate_route_success(void **state)
{
	zgt_resp r;
	skip_without_node();
	post_call(funded, "simulate-transaction", "success", 200, &r);
	assert_true(json_is_true(json_object_get(r.json, "success")));
	assert_true(json_is_string(json_object_get(r.json, "gasEstimate")));
	assert_true(json_is_null(json_object_get(r.json, "revertReason")));
	assert_true(json_is_true(json_object_get(r.json, "balanceSufficient")));
	zgt_resp_free(&r);
}

static void
simulate_route_revert(void **state)
{
	zgt_resp r;
	skip_without_node();
	post_call(funded, "simulate-transaction", "message", 200, &r);
	assert_true(json_is_false(json_object_get(r.json, "success")));
	assert_string_equal(zgt_str(&r, "revertReason"),
	    "withdrawals are paused");
	zgt_resp_free(&r);
}

static void
simulate_route_balance(void **state)
{
	zgt_resp r;
	skip_without_node();
	post_call(unfunded, "simulate-transaction", "success", 200, &r);
	assert_true(json_is_false(json_object_get(r.json,
	    "balanceSufficient")));
	zgt_resp_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(revert_message_blocks),
		cmocka_unit_test(panic_blocks_with_meaning),
		cmocka_unit_test(custom_error_blocks),
		cmocka_unit_test(success_signs),
		cmocka_unit_test(empty_balance_blocks),
		cmocka_unit_test(unfunded_transfer_names_balance),
		cmocka_unit_test(simulate_route_success),
		cmocka_unit_test(simulate_route_revert),
		cmocka_unit_test(simulate_route_balance),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
