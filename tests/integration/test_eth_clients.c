/*
 * zguard's Ethereum signatures checked by real clients. ethers 6.17.0
 * (tests/js/eth_clients.js) parses every raw transaction the daemon signs
 * and recovers the sender, and verifies message and typed-data signatures.
 * A local ganache 7.9.2 chain (chain id 1337, hardfork shanghai) accepts
 * signed transactions through eth_sendRawTransaction and mines them with
 * receipt status 1.
 *
 * Two daemons run: one with the software backend only, one with a PKCS#11
 * token made by tests/support/softhsm.sh in the test's directory. Both
 * sign every case. The test needs node with tests/node_modules and finds
 * them under $ZGUARD_SOURCE_DIR, which ctest sets. It is skipped only when
 * node is missing.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "zgtest.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN_LABEL "zg-eth-clients"
#define USER_PIN "4711"
#define GANACHE_CHAIN_ID "1337"
/* 2^40: a chain id above 2^32, whose EIP-155 v needs more than 32 bits. */
#define BIG_CHAIN_ID "1099511627776"
/* Each signing key gets 10 ether on ganache. */
#define FUNDING_WEI "10000000000000000000"
/* Seconds to wait for ganache's JSON-RPC endpoint after it starts. */
#define GANACHE_START_S 60

/*
 * Init code that deploys a contract whose runtime returns 42: it copies
 * the 10 runtime bytes that follow it to memory and returns them.
 */
#define INIT_CODE "0x600a600c600039600a6000f3602a60005260206000f3"

static const char access_list[] = "[{\"address\":"
    "\"0x3535353535353535353535353535353535353535\",\"storageKeys\":["
    "\"0x0000000000000000000000000000000000000000000000000000000000000001\","
    "\"0x00000000000000000000000000000000000000000000000000000000000000ff\""
    "]}]";

/* A daemon with one secp256k1 key on the backend it tests. */
struct signer {
	const char *backend;
	zgt_daemon d;
	char key_id[64];
	char address[64];
	bool started;
};

static struct signer soft = {.backend = "software"};
static struct signer hsm = {.backend = "pkcs11"};
static char source_dir[512];
static bool node_missing;

/* The ganache child and its JSON-RPC endpoint. zgt_http reads only
 * base_url from chain, so the rest stays empty. */
static pid_t ganache_pid;
static zgt_daemon chain;
static char ganache_log[320];

static bool
have_node(void)
{
	return system("node --version >/dev/null 2>&1") == 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* ---- the daemons ---- */

/* Creates the signer's key. Group setup calls it, so it returns -1 on
 * failure in place of asserting. */
static int
create_key(struct signer *s)
{
	char body[128];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"algorithm\":\"secp256k1\",\"backend\":"
	    "\"%s\",\"label\":\"eth-clients\"}", s->backend);
	if (zgt_http(&s->d, "POST", "/v1/keys", s->d.token, body, &r) != 0)
		return -1;
	int rc = r.status == 201 ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "creating a %s key: %ld %s\n", s->backend,
		    r.status, r.body ? r.body : "");
	snprintf(s->key_id, sizeof(s->key_id), "%s", zgt_str(&r, "id"));
	snprintf(s->address, sizeof(s->address), "%s", zgt_str(&r, "address"));
	zgt_resp_free(&r);
	return rc;
}

/*
 * Initializes a SoftHSM2 token under dir, points SOFTHSM2_CONF at it for
 * the daemon to inherit, and writes the PIN file. Returns 0 on success.
 */
static int
make_token(const char *dir, char *pin_file, size_t pin_filesz)
{
	char cmd[1024], conf[400];
	snprintf(cmd, sizeof(cmd), "'%s/tests/support/softhsm.sh' '%s/hsm' %s "
	    "so-%s %s", source_dir, dir, TOKEN_LABEL, USER_PIN, USER_PIN);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	bool got = fgets(conf, sizeof(conf), p) != NULL;
	if (pclose(p) != 0 || !got) {
		fprintf(stderr, "softhsm.sh failed: %s\n", cmd);
		return -1;
	}
	conf[strcspn(conf, "\n")] = '\0';
	if (setenv("SOFTHSM2_CONF", conf, 1) != 0)
		return -1;
	snprintf(pin_file, pin_filesz, "%s/hsm/user.pin", dir);
	FILE *f = fopen(pin_file, "w");
	if (f == NULL)
		return -1;
	fputs(USER_PIN "\n", f);
	return fclose(f);
}

static int
start_signers(void)
{
	char pin_file[300], ini[1024];

	if (zgt_daemon_start(&soft.d, NULL) != 0)
		return -1;
	soft.started = true;
	if (create_key(&soft) != 0)
		return -1;

	/* The token lives in the daemon's directory, so that the cleanup
	 * removes it with the rest. */
	if (zgt_daemon_prepare(&hsm.d, NULL) != 0 ||
	    make_token(hsm.d.root, pin_file, sizeof(pin_file)) != 0)
		return -1;
	snprintf(ini, sizeof(ini), "[pkcs11]\nmodule = %s\ntoken_label = %s\n"
	    "pin_file = %s\n", SOFTHSM_MODULE, TOKEN_LABEL, pin_file);
	snprintf(hsm.d.extra_ini, sizeof(hsm.d.extra_ini), "%s", ini);
	hsm.started = true;
	if (zgt_daemon_launch(&hsm.d) != 0) {
		fprintf(stderr, "the pkcs11 daemon did not start; see %s\n",
		    hsm.d.log_path);
		return -1;
	}
	return create_key(&hsm);
}

static void
stop_signer(struct signer *s)
{
	if (!s->started)
		return;
	zgt_daemon_stop(&s->d);
	if (zgt_log_has_errors(&s->d))
		fprintf(stderr, "the %s daemon's log has errors: %s\n",
		    s->backend, s->d.log_path);
	else
		zgt_daemon_cleanup(&s->d);
	s->started = false;
}

/* ---- ganache ---- */

/*
 * Sends one JSON-RPC call to ganache and returns its "result" (a new
 * reference), or NULL after printing the error.
 */
static json_t *
rpc(const char *method, json_t *params)
{
	json_t *req = json_pack("{s:s,s:i,s:s,s:o}", "jsonrpc", "2.0", "id", 1,
	    "method", method, "params", params);
	char *body = json_dumps(req, JSON_COMPACT);
	zgt_resp r;
	json_t *result = NULL;

	if (body != NULL && zgt_http(&chain, "POST", "/", NULL, body, &r) == 0) {
		result = json_incref(json_object_get(r.json, "result"));
		if (result == NULL)
			fprintf(stderr, "%s: %s\n", method, r.body ? r.body : "");
		zgt_resp_free(&r);
	}
	free(body);
	json_decref(req);
	return result;
}

/* Starts ganache on a free loopback port and waits for eth_chainId. */
static int
start_ganache(void)
{
	char cli[700], port[16];

	snprintf(ganache_log, sizeof(ganache_log), "%s/ganache.log",
	    soft.d.root);
	snprintf(cli, sizeof(cli), "%s/tests/node_modules/ganache/dist/node/"
	    "cli.js", source_dir);
	unsigned p = zgt_free_port();
	snprintf(port, sizeof(port), "%u", p);
	snprintf(chain.base_url, sizeof(chain.base_url), "http://127.0.0.1:%u",
	    p);

	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* ganache must not outlive a test that crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (freopen(ganache_log, "w", stdout) == NULL ||
		    dup2(fileno(stdout), 2) < 0)
			_exit(127);
		execlp("node", "node", cli, "--server.host", "127.0.0.1",
		    "--server.port", port, "--server.ws", "false",
		    "--chain.chainId", GANACHE_CHAIN_ID, "--chain.hardfork",
		    "shanghai", "--wallet.totalAccounts", "1", (char *)NULL);
		_exit(127);
	}
	ganache_pid = pid;

	for (int i = 0; i < GANACHE_START_S * 10; i++) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			ganache_pid = 0;
			fprintf(stderr, "ganache exited; see %s\n", ganache_log);
			return -1;
		}
		json_t *id = rpc("eth_chainId", json_array());
		if (id != NULL) {
			bool ok = json_is_string(id) &&
			    strcmp(json_string_value(id), "0x539") == 0;
			json_decref(id);
			return ok ? 0 : -1;
		}
		sleep_ms(100);
	}
	fprintf(stderr, "ganache did not answer within %d s; see %s\n",
	    GANACHE_START_S, ganache_log);
	return -1;
}

static void
stop_ganache(void)
{
	if (ganache_pid <= 0)
		return;
	kill(ganache_pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(ganache_pid, NULL, WNOHANG) == ganache_pid) {
			ganache_pid = 0;
			return;
		}
		sleep_ms(100);
	}
	kill(ganache_pid, SIGKILL);
	waitpid(ganache_pid, NULL, 0);
	ganache_pid = 0;
}

static int
group_teardown(void **state)
{
	stop_ganache();
	stop_signer(&soft);
	stop_signer(&hsm);
	zgt_http_thread_done();
	return 0;
}

static int
group_setup(void **state)
{
	if (!have_node()) {
		node_missing = true;
		return 0;
	}
	const char *src = getenv("ZGUARD_SOURCE_DIR");
	snprintf(source_dir, sizeof(source_dir), "%s", src ? src : ".");
	if (start_signers() != 0 || start_ganache() != 0) {
		/* cmocka skips the group teardown when the setup fails. */
		group_teardown(state);
		return -1;
	}
	return 0;
}

static void
skip_without_node(void)
{
	if (node_missing) {
		print_message("skipped: node is not installed\n");
		skip();
	}
}

/* ---- signing and checking ---- */

/*
 * Sends body to POST /v1/keys/{key}/<op> on s's daemon, expects 200 and
 * returns the response object (a new reference).
 */
static json_t *
sign(struct signer *s, const char *op, const char *body)
{
	char path[160];
	zgt_resp r;
	snprintf(path, sizeof(path), "/v1/keys/%s/%s", s->key_id, op);
	assert_int_equal(zgt_http(&s->d, "POST", path, s->d.token, body, &r), 0);
	if (r.status != 200)
		fprintf(stderr, "%s %s: %ld %s\n", s->backend, op, r.status,
		    r.body ? r.body : "");
	assert_int_equal(r.status, 200);
	json_t *j = json_incref(r.json);
	zgt_resp_free(&r);
	return j;
}

/*
 * Runs `node eth_clients.js check` over requests (an array of objects)
 * and returns the array of its results, one per request.
 */
static json_t *
ethers_check(json_t *requests)
{
	char in_path[320], cmd[1200];
	snprintf(in_path, sizeof(in_path), "%s/ethers-in.jsonl", soft.d.root);
	FILE *in = fopen(in_path, "w");
	assert_non_null(in);
	size_t i;
	json_t *req;
	json_array_foreach(requests, i, req) {
		char *line = json_dumps(req, JSON_COMPACT);
		assert_non_null(line);
		fprintf(in, "%s\n", line);
		free(line);
	}
	assert_int_equal(fclose(in), 0);

	snprintf(cmd, sizeof(cmd), "node '%s/tests/js/eth_clients.js' check "
	    "< '%s'", source_dir, in_path);
	FILE *out = popen(cmd, "r");
	assert_non_null(out);
	json_t *results = json_array();
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, out) > 0)
		json_array_append_new(results, json_loads(line, 0, NULL));
	free(line);
	assert_int_equal(pclose(out), 0);
	assert_int_equal(json_array_size(results), json_array_size(requests));
	return results;
}

static const char *
str_of(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v ? v : "";
}

/*
 * Writes a transaction request of type (0, 1 or 2) for chain, with a `to`
 * unless create, and an access list when listed, into out.
 */
static void
tx_request(int type, const char *chain_id, bool create, bool listed,
    unsigned nonce, char *out, size_t outsz)
{
	const char *fees = type == 2 ? "\"maxFeePerGas\":\"100000000000\","
	    "\"maxPriorityFeePerGas\":\"1000000000\"" :
	    "\"gasPrice\":\"100000000000\"";
	snprintf(out, outsz, "{\"chainId\":\"%s\",\"type\":%d,\"nonce\":\"%u\","
	    "%s\"value\":\"%s\",\"data\":\"%s\",\"gas\":\"200000\",%s%s%s}",
	    chain_id, type, nonce,
	    create ? "" : "\"to\":\"0x3535353535353535353535353535353535353535\",",
	    create ? "0" : "1000", create ? INIT_CODE : "0x", fees,
	    listed ? ",\"accessList\":" : "", listed ? access_list : "");
}

static void
ethers_parses_txs(struct signer *s)
{
	static const char *const chains[] = {"1", GANACHE_CHAIN_ID,
	    BIG_CHAIN_ID};
	skip_without_node();
	json_t *requests = json_array();
	json_t *expected = json_array();

	for (size_t c = 0; c < 3; c++) {
		for (int type = 0; type <= 2; type++) {
			for (int variant = 0; variant < 2; variant++) {
				bool create = variant == 1;
				bool listed = type > 0 && !create;
				char body[1024];
				tx_request(type, chains[c], create, listed, 7, body,
				    sizeof(body));
				json_t *res = sign(s, "sign-transaction", body);
				assert_string_equal(str_of(res, "from"), s->address);
				json_array_append_new(requests, json_pack("{s:s,s:s,s:s}",
				    "op", "tx", "raw", str_of(res, "rawTransaction"),
				    "from", s->address));
				json_array_append_new(expected, json_pack(
				    "{s:i,s:s,s:b,s:b,s:s}", "type", type, "chainId",
				    chains[c], "create", create, "listed", listed,
				    "hash", str_of(res, "hash")));
				json_decref(res);
			}
		}
	}

	json_t *results = ethers_check(requests);
	size_t i;
	json_t *got;
	json_array_foreach(results, i, got) {
		json_t *want = json_array_get(expected, i);
		if (json_object_get(got, "error") != NULL)
			fprintf(stderr, "case %zu: ethers: %s\n", i,
			    str_of(got, "error"));
		assert_null(json_object_get(got, "error"));
		assert_true(json_is_true(json_object_get(got, "matches")));
		assert_string_equal(str_of(got, "recovered"), s->address);
		assert_int_equal(json_integer_value(json_object_get(got, "type")),
		    json_integer_value(json_object_get(want, "type")));
		assert_string_equal(str_of(got, "chainId"),
		    str_of(want, "chainId"));
		assert_string_equal(str_of(got, "hash"), str_of(want, "hash"));
		if (json_is_true(json_object_get(want, "create")))
			assert_true(json_is_null(json_object_get(got, "to")));
		else
			assert_string_equal(str_of(got, "to"),
			    "0x3535353535353535353535353535353535353535");
		assert_int_equal(json_integer_value(json_object_get(got,
		    "accessListLength")),
		    json_is_true(json_object_get(want, "listed")) ? 1 : 0);
	}
	json_decref(results);
	json_decref(requests);
	json_decref(expected);
}

static void
ethers_parses_soft_txs(void **state)
{
	ethers_parses_txs(&soft);
}

static void
ethers_parses_hsm_txs(void **state)
{
	ethers_parses_txs(&hsm);
}

/*
 * EIP-712 typed data with nested structs, an array of structs, fixed and
 * dynamic bytes, and every optional field of the domain.
 */
static const char typed_data[] = "{\"types\":{"
    "\"Person\":[{\"name\":\"name\",\"type\":\"string\"},"
    "{\"name\":\"wallet\",\"type\":\"address\"}],"
    "\"Mail\":[{\"name\":\"from\",\"type\":\"Person\"},"
    "{\"name\":\"to\",\"type\":\"Person[]\"},"
    "{\"name\":\"contents\",\"type\":\"string\"},"
    "{\"name\":\"tag\",\"type\":\"bytes4\"},"
    "{\"name\":\"attachment\",\"type\":\"bytes\"},"
    "{\"name\":\"amount\",\"type\":\"uint256\"}]},"
    "\"primaryType\":\"Mail\","
    "\"domain\":{\"name\":\"zguard test\",\"version\":\"1\",\"chainId\":1337,"
    "\"verifyingContract\":\"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\","
    "\"salt\":\"0x0000000000000000000000000000000000000000000000000000000000"
    "00abcd\"},"
    "\"message\":{\"from\":{\"name\":\"Cow\",\"wallet\":"
    "\"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826\"},"
    "\"to\":[{\"name\":\"Bob\",\"wallet\":"
    "\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\"},{\"name\":\"Eve\","
    "\"wallet\":\"0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57\"}],"
    "\"contents\":\"Hello, Bob and Eve!\",\"tag\":\"0xdeadbeef\","
    "\"attachment\":\"0x0102030405\","
    "\"amount\":\"115792089237316195423570985008687907853269984665640564039"
    "457584007913129639935\"}}";

static void
ethers_verifies(struct signer *s)
{
	static const char *const messages[][2] = {
		{"hello zguard", NULL},
		{"gr\xc3\xbc\xc3\x9f" "e, \xe2\x82\xac 5", NULL},
		{"", NULL},
		{"0x00ff10", "hex"},
	};
	skip_without_node();
	json_t *requests = json_array();
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		json_t *req = json_pack("{s:s}", "message", messages[i][0]);
		if (messages[i][1] != NULL)
			json_object_set_new(req, "encoding",
			    json_string(messages[i][1]));
		char *body = json_dumps(req, JSON_COMPACT);
		json_t *res = sign(s, "sign-message", body);
		json_object_set_new(req, "op", json_string("message"));
		json_object_set_new(req, "signature", json_string(str_of(res,
		    "signature")));
		json_object_set_new(req, "address", json_string(s->address));
		json_array_append_new(requests, req);
		json_decref(res);
		free(body);
	}

	json_t *td = json_loads(typed_data, 0, NULL);
	assert_non_null(td);
	json_t *wrapped = json_pack("{s:O}", "typedData", td);
	char *body = json_dumps(wrapped, JSON_COMPACT);
	json_t *res = sign(s, "sign-typed-data", body);
	json_array_append_new(requests, json_pack("{s:s,s:O,s:s,s:s}", "op",
	    "typed", "typedData", td, "signature", str_of(res, "signature"),
	    "address", s->address));
	json_decref(res);
	free(body);
	json_decref(wrapped);
	json_decref(td);

	json_t *results = ethers_check(requests);
	size_t i;
	json_t *got;
	json_array_foreach(results, i, got) {
		if (json_object_get(got, "error") != NULL)
			fprintf(stderr, "case %zu: ethers: %s\n", i,
			    str_of(got, "error"));
		assert_null(json_object_get(got, "error"));
		assert_string_equal(str_of(got, "recovered"), s->address);
		assert_true(json_is_true(json_object_get(got, "matches")));
	}
	json_decref(results);
	json_decref(requests);
}

static void
ethers_verifies_soft(void **state)
{
	ethers_verifies(&soft);
}

static void
ethers_verifies_hsm(void **state)
{
	ethers_verifies(&hsm);
}

/* ---- ganache ---- */

/* Gives s's address FUNDING_WEI from ganache's account through ethers. */
static void
fund(struct signer *s)
{
	char cmd[1200], line[512] = "";
	snprintf(cmd, sizeof(cmd), "node '%s/tests/js/eth_clients.js' fund "
	    "'%s' %s %s", source_dir, chain.base_url, s->address, FUNDING_WEI);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	bool got = fgets(line, sizeof(line), p) != NULL;
	assert_int_equal(pclose(p), 0);
	assert_true(got);
	json_t *res = json_loads(line, 0, NULL);
	assert_non_null(res);
	assert_int_equal(json_integer_value(json_object_get(res, "status")), 1);
	json_decref(res);
}

/*
 * Sends raw through eth_sendRawTransaction and checks its receipt: status
 * 1, the sender, and a contract address exactly when create is set.
 */
static void
send_and_check(const char *raw, const char *hash, const char *from,
    bool create)
{
	json_t *sent = rpc("eth_sendRawTransaction", json_pack("[s]", raw));
	assert_non_null(sent);
	assert_string_equal(json_string_value(sent), hash);
	json_decref(sent);

	/* ganache mines each transaction as it arrives, so the loop only
	 * covers a slow machine. */
	json_t *receipt = NULL;
	for (int i = 0; i < 100 && !json_is_object(receipt); i++) {
		json_decref(receipt);
		receipt = rpc("eth_getTransactionReceipt", json_pack("[s]", hash));
		if (!json_is_object(receipt))
			sleep_ms(100);
	}
	assert_true(json_is_object(receipt));
	assert_string_equal(str_of(receipt, "status"), "0x1");
	assert_true(strcasecmp(str_of(receipt, "from"), from) == 0);
	json_t *contract = json_object_get(receipt, "contractAddress");
	if (create)
		assert_int_equal(strlen(json_string_value(contract) ?
		    json_string_value(contract) : ""), 42);
	else
		assert_true(contract == NULL || json_is_null(contract));
	json_decref(receipt);
}

static void
ganache_accepts(struct signer *s)
{
	skip_without_node();
	fund(s);
	/* Types 0, 1 and 2 with a `to`, then contract creations of types 2
	 * and 0. */
	static const struct {
		int type;
		bool create;
		bool listed;
	} cases[] = {{0, false, false}, {1, false, true}, {2, false, true},
	    {2, true, false}, {0, true, false}};
	for (unsigned n = 0; n < sizeof(cases) / sizeof(cases[0]); n++) {
		char body[1024];
		tx_request(cases[n].type, GANACHE_CHAIN_ID, cases[n].create,
		    cases[n].listed, n, body, sizeof(body));
		json_t *res = sign(s, "sign-transaction", body);
		print_message("%s: type %d%s, nonce %u\n", s->backend,
		    cases[n].type, cases[n].create ? " creation" : "", n);
		send_and_check(str_of(res, "rawTransaction"), str_of(res, "hash"),
		    s->address, cases[n].create);
		json_decref(res);
	}
}

static void
ganache_accepts_soft(void **state)
{
	ganache_accepts(&soft);
}

static void
ganache_accepts_hsm(void **state)
{
	ganache_accepts(&hsm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ethers_parses_soft_txs),
		cmocka_unit_test(ethers_parses_hsm_txs),
		cmocka_unit_test(ethers_verifies_soft),
		cmocka_unit_test(ethers_verifies_hsm),
		cmocka_unit_test(ganache_accepts_soft),
		cmocka_unit_test(ganache_accepts_hsm),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
