/*
 * Tests of transaction simulation: revert decoding with hand-made ABI data,
 * the JSON-RPC client against a mock node on 127.0.0.1 that sends canned
 * responses, and zg_simulate against ganache 7.9.2 (tests/js/sim_contracts.js)
 * with contracts from tests/data/sim compiled by solc-js 0.8.26.
 *
 * The ganache tests need node and find the sources under
 * $ZGUARD_SOURCE_DIR, or next to this file; without node they are skipped.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "chain/rpc.h"

/* ---- helpers ---- */

static size_t
unhex(const char *hex, uint8_t *out, size_t outsz)
{
	size_t n = strlen(hex) / 2;
	assert_true(n <= outsz);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* Appends a 32-byte ABI word holding v. */
static size_t
put_word(uint8_t *p, uint64_t v)
{
	memset(p, 0, 32);
	for (int i = 0; i < 8; i++)
		p[31 - i] = (uint8_t)(v >> (8 * i));
	return 32;
}

/* Builds Error(string) data for text with the usual offset 0x20. */
static size_t
error_string_data(const char *text, uint8_t *out, size_t outsz)
{
	size_t len = strlen(text), padded = (len + 31) / 32 * 32;
	assert_true(4 + 64 + padded <= outsz);
	memcpy(out, "\x08\xc3\x79\xa0", 4);
	put_word(out + 4, 32);
	put_word(out + 36, len);
	memset(out + 68, 0, padded);
	memcpy(out + 68, text, len);
	return 68 + padded;
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- revert decoding ---- */

static void
revert_message(void **state)
{
	uint8_t data[256];
	zg_revert r;
	size_t n = error_string_data("withdrawals are paused", data,
	    sizeof(data));

	zg_revert_decode(data, n, &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_MESSAGE);
	assert_string_equal(r.reason, "withdrawals are paused");
	assert_memory_equal(r.selector, "\x08\xc3\x79\xa0", 4);
}

static void
revert_message_empty(void **state)
{
	uint8_t data[256];
	zg_revert r;

	zg_revert_decode(data, error_string_data("", data, sizeof(data)), &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_MESSAGE);
	assert_string_equal(r.reason, "");
}

static void
revert_message_escaped(void **state)
{
	uint8_t data[256];
	zg_revert r;
	size_t n = error_string_data("a\nb\\c\xc3\xa9", data, sizeof(data));

	zg_revert_decode(data, n, &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_MESSAGE);
	assert_string_equal(r.reason, "a\\x0ab\\x5cc\\xc3\\xa9");
}

static void
revert_message_cut(void **state)
{
	char text[1001];
	uint8_t data[1200];
	zg_revert r;

	memset(text, 'x', 1000);
	text[1000] = '\0';
	zg_revert_decode(data, error_string_data(text, data, sizeof(data)), &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_MESSAGE);
	assert_int_equal(strlen(r.reason), ZG_SIM_REASON_MAX - 1);
	assert_string_equal(r.reason + ZG_SIM_REASON_MAX - 4, "...");
}

/* An offset that points past the data, and one above 64 bits. */
static void
revert_message_bad_offset(void **state)
{
	uint8_t data[256];
	zg_revert r;
	size_t n = error_string_data("hi", data, sizeof(data));

	put_word(data + 4, 4096);
	zg_revert_decode(data, n, &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_MALFORMED);

	put_word(data + 4, 32);
	data[4] = 0x01;
	zg_revert_decode(data, n, &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_MALFORMED);
}

/* A length one byte beyond the data, and one near 2^64 that would wrap. */
static void
revert_message_bad_length(void **state)
{
	uint8_t data[256];
	zg_revert r;
	size_t n = error_string_data("hi", data, sizeof(data));

	put_word(data + 36, 32 + 1);
	zg_revert_decode(data, n, &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_MALFORMED);

	put_word(data + 36, UINT64_MAX - 8);
	zg_revert_decode(data, n, &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_MALFORMED);

	/* The selector and the offset word, but no length word. */
	zg_revert_decode(data, 4 + 32, &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_MALFORMED);
}

static void
revert_panic_division(void **state)
{
	uint8_t data[64];
	zg_revert r;
	uint64_t code;
	size_t n = unhex("4e487b71"
	    "0000000000000000000000000000000000000000000000000000000000000012",
	    data, sizeof(data));

	zg_revert_decode(data, n, &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_PANIC);
	assert_true(zg_u256_to_u64(&r.panic_code, &code));
	assert_int_equal(code, 0x12);
	assert_string_equal(r.reason, "Panic(0x12): division or modulo by zero");
}

static void
revert_panic_codes(void **state)
{
	static const struct {
		uint64_t code;
		const char *meaning;
	} cases[] = {
		{0x00, "generic compiler panic"},
		{0x01, "assert failed"},
		{0x11, "arithmetic overflow or underflow"},
		{0x12, "division or modulo by zero"},
		{0x21, "conversion to an invalid enum value"},
		{0x22, "incorrectly encoded storage byte array"},
		{0x31, "pop() on an empty array"},
		{0x32, "array index out of bounds"},
		{0x41, "too much memory allocated"},
		{0x51, "call to a zero-initialized internal function"},
		{0x99, "unknown panic code"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		zg_u256 code;
		zg_u256_from_u64(&code, cases[i].code);
		print_message("panic code 0x%02llx\n",
		    (unsigned long long)cases[i].code);
		assert_string_equal(zg_panic_meaning(&code), cases[i].meaning);
	}
}

static void
revert_panic_huge_code(void **state)
{
	uint8_t data[36];
	zg_revert r;

	memcpy(data, "\x4e\x48\x7b\x71", 4);
	memset(data + 4, 0xff, 32);
	zg_revert_decode(data, sizeof(data), &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_PANIC);
	assert_non_null(strstr(r.reason, "unknown panic code"));
	assert_non_null(strstr(r.reason, "0xffffffff"));
}

static void
revert_panic_short(void **state)
{
	uint8_t data[20] = {0x4e, 0x48, 0x7b, 0x71};
	zg_revert r;

	zg_revert_decode(data, sizeof(data), &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_MALFORMED);
}

static void
revert_custom_selector(void **state)
{
	uint8_t data[36];
	zg_revert r;

	memcpy(data, "\x7e\x46\xda\xb6", 4);
	put_word(data + 4, 7);
	zg_revert_decode(data, sizeof(data), &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_CUSTOM);
	assert_memory_equal(r.selector, "\x7e\x46\xda\xb6", 4);
	assert_string_equal(r.reason,
	    "custom error 0x7e46dab6 with 32 bytes of arguments");
}

static void
revert_empty(void **state)
{
	zg_revert r;

	zg_revert_decode(NULL, 0, &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_EMPTY);
	assert_string_equal(r.reason, "reverted without a reason");
}

static void
revert_too_short(void **state)
{
	zg_revert r;

	zg_revert_decode((const uint8_t *)"\x08\xc3\x79", 3, &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_MALFORMED);
}

/* ---- endpoints ---- */

static void
endpoint_scheme_rejected(void **state)
{
	zg_rpc *rpc = NULL;
	zg_errmsg em = {0};

	assert_int_equal(zg_rpc_open("ftp://127.0.0.1/", NULL, &rpc, &em),
	    ZG_ERR_CONFIG);
	assert_null(rpc);
	assert_non_null(strstr(em.text, "http://"));
	assert_int_equal(zg_rpc_open("not a url", NULL, &rpc, &em),
	    ZG_ERR_CONFIG);
	assert_null(rpc);
}

static void
endpoint_name_redacted(void **state)
{
	zg_rpc *rpc = NULL;
	zg_errmsg em = {0};

	assert_int_equal(zg_rpc_open("http://user:hunter2@127.0.0.1:8545/v3/"
	    "apikey123?token=abc", NULL, &rpc, &em), ZG_OK);
	assert_string_equal(zg_rpc_endpoint_name(rpc),
	    "http://127.0.0.1:8545/...");
	zg_rpc_free(rpc);

	assert_int_equal(zg_rpc_open("http://127.0.0.1:8545", NULL, &rpc, &em),
	    ZG_OK);
	assert_string_equal(zg_rpc_endpoint_name(rpc), "http://127.0.0.1:8545");
	zg_rpc_free(rpc);

	assert_int_equal(zg_rpc_open("https://[::1]:8545/", NULL, &rpc, &em),
	    ZG_OK);
	assert_string_equal(zg_rpc_endpoint_name(rpc), "https://[::1]:8545");
	zg_rpc_free(rpc);
}

/* ---- a mock node on 127.0.0.1 ---- */

/* Serves one connection: reads one request, waits delay_ms, then sends
 * response (a whole HTTP response) and closes. */
typedef struct mock {
	int listen_fd;
	unsigned port;
	const char *response;
	unsigned delay_ms;
	pthread_t thread;
} mock;

static void *
mock_serve(void *arg)
{
	mock *m = arg;
	char req[65536];
	size_t got = 0;
	int fd = accept(m->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	/* The client sends headers and a small body; read until it stops
	 * sending for 200 ms. */
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			break;
		ssize_t r = read(fd, req + got, sizeof(req) - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(req))
			break;
	}
	if (m->delay_ms > 0)
		usleep(m->delay_ms * 1000);
	(void)send(fd, m->response, strlen(m->response), MSG_NOSIGNAL);
	close(fd);
	return NULL;
}

static void
mock_start(mock *m, const char *response, unsigned delay_ms)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(m, 0, sizeof(*m));
	m->response = response;
	m->delay_ms = delay_ms;
	m->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(m->listen_fd >= 0);
	assert_int_equal(bind(m->listen_fd, (struct sockaddr *)&sa, sizeof(sa)),
	    0);
	assert_int_equal(listen(m->listen_fd, 4), 0);
	assert_int_equal(getsockname(m->listen_fd, (struct sockaddr *)&sa,
	    &len), 0);
	m->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&m->thread, NULL, mock_serve, m), 0);
}

static void
mock_stop(mock *m)
{
	pthread_join(m->thread, NULL);
	close(m->listen_fd);
}

static char *
http_response(const char *status, const char *body)
{
	char *out = NULL;
	assert_true(asprintf(&out, "HTTP/1.1 %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s", status, strlen(body), body) > 0);
	return out;
}

/* How long the last chain_id_from_mock request took, without the wait
 * for the mock to finish. */
static int64_t last_request_ms;

/* Sends eth_chainId to a mock that responds with status and body. */
static zg_err
chain_id_from_mock(const char *status, const char *body, unsigned delay_ms,
    const zg_rpc_options *opts, zg_u256 *id, zg_errmsg *em)
{
	char *resp = http_response(status, body);
	char url[64];
	zg_rpc *rpc = NULL;
	mock m;

	mock_start(&m, resp, delay_ms);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", m.port);
	assert_int_equal(zg_rpc_open(url, opts, &rpc, em), ZG_OK);
	int64_t start = now_ms();
	zg_err err = zg_rpc_chain_id(rpc, id, em);
	last_request_ms = now_ms() - start;
	zg_rpc_free(rpc);
	mock_stop(&m);
	free(resp);
	return err;
}

static void
rpc_chain_id_ok(void **state)
{
	zg_errmsg em = {0};
	zg_u256 id;
	uint64_t v;

	assert_int_equal(chain_id_from_mock("200 OK",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x539\"}", 0, NULL, &id,
	    &em), ZG_OK);
	assert_true(zg_u256_to_u64(&id, &v));
	assert_int_equal(v, 1337);
}

static void
rpc_http_error(void **state)
{
	zg_errmsg em = {0};
	zg_u256 id;

	assert_int_equal(chain_id_from_mock("503 Service Unavailable", "{}", 0,
	    NULL, &id, &em), ZG_ERR_UPSTREAM);
	assert_non_null(strstr(em.text, "HTTP status 503"));
	assert_non_null(strstr(em.text, "http://127.0.0.1:"));
}

static void
rpc_malformed_json(void **state)
{
	zg_errmsg em = {0};
	zg_u256 id;

	assert_int_equal(chain_id_from_mock("200 OK", "{\"jsonrpc\":\"2.0\",",
	    0, NULL, &id, &em), ZG_ERR_UPSTREAM);
	assert_non_null(strstr(em.text, "not valid JSON"));
}

static void
rpc_wrong_id(void **state)
{
	zg_errmsg em = {0};
	zg_u256 id;

	assert_int_equal(chain_id_from_mock("200 OK",
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0x1\"}", 0, NULL, &id,
	    &em), ZG_ERR_UPSTREAM);
	assert_non_null(strstr(em.text, "not a JSON-RPC 2.0 response"));
}

static void
rpc_result_not_quantity(void **state)
{
	zg_errmsg em = {0};
	zg_u256 id;

	assert_int_equal(chain_id_from_mock("200 OK",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"1337\"}", 0, NULL, &id,
	    &em), ZG_ERR_UPSTREAM);
	assert_non_null(strstr(em.text, "hex quantity"));
}

static void
rpc_method_not_found(void **state)
{
	zg_errmsg em = {0};
	zg_u256 id;

	assert_int_equal(chain_id_from_mock("200 OK",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,"
	    "\"message\":\"method not found\"}}", 0, NULL, &id, &em),
	    ZG_ERR_UPSTREAM);
	assert_non_null(strstr(em.text, "-32601: method not found"));
}

static void
rpc_response_too_large(void **state)
{
	zg_rpc_options opts = {.max_response_bytes = 64};
	zg_errmsg em = {0};
	zg_u256 id;
	char body[256];

	snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"result\":\"0x1\",\"pad\":\"%0100d\"}", 0);
	assert_int_equal(chain_id_from_mock("200 OK", body, 0, &opts, &id,
	    &em), ZG_ERR_UPSTREAM);
	assert_non_null(strstr(em.text, "larger than 64 bytes"));
}

static void
rpc_slow_node_times_out(void **state)
{
	zg_rpc_options opts = {.timeout_ms = 300};
	zg_errmsg em = {0};
	zg_u256 id;

	assert_int_equal(chain_id_from_mock("200 OK",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}", 3000, &opts,
	    &id, &em), ZG_ERR_UPSTREAM);
	assert_non_null(strstr(em.text, "timed out"));
	/* The mock delays its response by 3000 ms and the client gives up
	 * at 300 ms: it waited about that long, not for the answer. The
	 * bounds are loose on purpose: libcurl's clock and this one differ by
	 * a millisecond or two, and a loaded machine delays both sides. */
	print_message("waited %lld ms\n", (long long)last_request_ms);
	assert_true(last_request_ms >= 250);
	assert_true(last_request_ms < 3000);
}

/* A revert nested as {"data": {"data": "0x..."}} is read as revert data. */
static void
rpc_call_nested_revert(void **state)
{
	char *resp = http_response("200 OK", "{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"error\":{\"code\":3,\"message\":\"execution reverted\","
	    "\"data\":{\"data\":\"0x4e487b71000000000000000000000000000000000"
	    "0000000000000000000000000000001\"}}}");
	zg_tx tx = {.type = 2, .has_to = true};
	uint8_t from[20] = {0}, *ret = NULL;
	size_t ret_len = 0;
	zg_rpc_error fault = {0};
	zg_errmsg em = {0};
	zg_rpc *rpc = NULL;
	zg_revert r;
	char url[64];
	mock m;

	mock_start(&m, resp, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", m.port);
	assert_int_equal(zg_rpc_open(url, NULL, &rpc, &em), ZG_OK);
	assert_int_equal(zg_rpc_call(rpc, &tx, from, &ret, &ret_len, &fault,
	    &em), ZG_OK);
	assert_true(fault.set);
	assert_int_equal(fault.code, 3);
	assert_string_equal(fault.message, "execution reverted");
	assert_true(fault.has_data);
	zg_revert_decode(fault.data, fault.data_len, &r);
	assert_int_equal(r.kind, ZG_SIM_REVERT_PANIC);
	assert_string_equal(r.reason, "Panic(0x01): assert failed");
	assert_null(ret);
	zg_rpc_error_clear(&fault);
	zg_rpc_free(rpc);
	mock_stop(&m);
	free(resp);
}

/* Returns a loopback port that nothing listens on. */
static unsigned
closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void
simulate_closed_port(void **state)
{
	zg_rpc_options opts = {.connect_timeout_ms = 1000, .timeout_ms = 2000};
	zg_tx tx = {.type = 2, .has_to = true};
	uint8_t from[20] = {0};
	zg_sim_result res;
	zg_errmsg em = {0};
	char url[64], name[64];
	unsigned port = closed_port();
	int64_t start = now_ms();

	zg_u256_from_u64(&tx.chain_id, 1337);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	assert_int_equal(zg_simulate(&tx, from, url, &opts, &res, &em),
	    ZG_ERR_UPSTREAM);
	int64_t waited = now_ms() - start;
	print_message("closed port %u: %s (%lld ms)\n", port, em.text,
	    (long long)waited);
	/* It gives up by itself rather than hanging; a loaded machine may
	 * add to the 2000 ms limit, so the bound is loose. */
	assert_true(waited < 2000 + 3000);
	snprintf(name, sizeof(name), "eth_chainId to http://127.0.0.1:%u ",
	    port);
	assert_non_null(strstr(em.text, name));
	assert_non_null(strstr(em.text, "cannot connect"));
	assert_false(res.success);
}

/* ---- against ganache ---- */

typedef struct live {
	bool skipped;
	pid_t pid;
	int stdin_fd;            /* closing it stops the node */
	json_t *ready;           /* the line sim_contracts.js printed */
} live;

static live node;

static bool
node_available(void)
{
	return system("node --version >/dev/null 2>&1") == 0;
}

/* Finds the repository: $ZGUARD_SOURCE_DIR, or two levels above this
 * file. */
static void
source_dir(char *out, size_t outsz)
{
	const char *env = getenv("ZGUARD_SOURCE_DIR");
	if (env != NULL) {
		snprintf(out, outsz, "%s", env);
		return;
	}
	snprintf(out, outsz, "%s", __FILE__);
	for (int i = 0; i < 3; i++) {
		char *slash = strrchr(out, '/');
		if (slash != NULL)
			*slash = '\0';
	}
}

static void
live_stop(void)
{
	if (node.stdin_fd >= 0)
		close(node.stdin_fd);
	node.stdin_fd = -1;
	if (node.pid > 0) {
		kill(node.pid, SIGTERM);
		waitpid(node.pid, NULL, 0);
	}
	node.pid = 0;
	json_decref(node.ready);
	node.ready = NULL;
}

/* Starts sim_contracts.js and waits for its line, at most 120 s. */
static int
live_setup(void **state)
{
	char dir[512], script[640], sources[640], line[8192];
	int in[2], out[2];

	memset(&node, 0, sizeof(node));
	node.stdin_fd = -1;
	if (!node_available()) {
		node.skipped = true;
		return 0;
	}
	source_dir(dir, sizeof(dir));
	snprintf(script, sizeof(script), "%s/tests/js/sim_contracts.js", dir);
	snprintf(sources, sizeof(sources), "%s/tests/data/sim", dir);
	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	node.pid = fork();
	if (node.pid < 0)
		return -1;
	if (node.pid == 0) {
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
	node.stdin_fd = in[1];

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
	node.ready = json_loads(line, 0, NULL);
	if (node.ready == NULL || json_object_get(node.ready, "url") == NULL) {
		fprintf(stderr, "sim_contracts.js did not start: %s\n", line);
		live_stop();
		return -1;
	}
	return 0;
}

static int
live_teardown(void **state)
{
	live_stop();
	return 0;
}

static const char *
ready_str(const char *key)
{
	const char *s = json_string_value(json_object_get(node.ready, key));
	assert_non_null(s);
	return s;
}

/* Simulates the prepared call name from the funded account, or from the
 * unfunded one, with a type 2 transaction capped at 2 gwei per gas. gas is
 * the gas limit as a hex quantity. */
static void
simulate_live(const char *name, bool unfunded, const char *gas,
    zg_sim_result *res)
{
	const json_t *call = json_object_get(json_object_get(node.ready,
	    "calls"), name);
	json_t *req = json_pack("{s:s, s:i, s:i, s:O, s:O, s:s, s:s, s:s}",
	    "chainId", ready_str("chainId"), "type", 2, "nonce", 0,
	    "to", json_object_get(call, "to"),
	    "data", json_object_get(call, "data"), "gas", gas,
	    "maxFeePerGas", "0x77359400", "maxPriorityFeePerGas", "0x1");
	uint8_t from[20];
	zg_errmsg em = {0};
	zg_tx tx;

	assert_non_null(req);
	assert_int_equal(zg_tx_parse(req, &tx, &em), ZG_OK);
	assert_int_equal(zg_chain_address_parse(ready_str(unfunded ?
	    "unfunded" : "from"), "from", from, &em), ZG_OK);
	zg_err err = zg_simulate(&tx, from, ready_str("url"), NULL, res, &em);
	if (err != ZG_OK)
		print_message("%s: %s\n", name, em.text);
	else if (res->success)
		print_message("%s: succeeded, gas estimate %llu\n", name,
		    (unsigned long long)res->gas_estimate);
	else
		print_message("%s: %s\n", name, res->revert.reason);
	assert_int_equal(err, ZG_OK);
	zg_tx_free(&tx);
	json_decref(req);
}

#define SKIP_WITHOUT_NODE()                                                  \
	do {                                                                 \
		if (node.skipped) {                                          \
			print_message("node is not on PATH: skipping the "   \
			    "ganache tests\n");                              \
			skip();                                              \
		}                                                            \
	} while (0)

static void
live_revert_message(void **state)
{
	zg_sim_result res;

	SKIP_WITHOUT_NODE();
	simulate_live("message", false, "0x30000", &res);
	assert_false(res.success);
	assert_int_equal(res.revert.kind, ZG_SIM_REVERT_MESSAGE);
	assert_string_equal(res.revert.reason, "withdrawals are paused");
	assert_false(res.has_gas_estimate);
}

static void
live_revert_custom(void **state)
{
	zg_sim_result res;

	SKIP_WITHOUT_NODE();
	simulate_live("custom", false, "0x30000", &res);
	assert_false(res.success);
	assert_int_equal(res.revert.kind, ZG_SIM_REVERT_CUSTOM);
	/* The first 4 bytes of Keccak-256("Denied(uint256)"). */
	assert_memory_equal(res.revert.selector, "\x7e\x46\xda\xb6", 4);
}

static void
live_panic_division(void **state)
{
	zg_sim_result res;
	uint64_t code;

	SKIP_WITHOUT_NODE();
	simulate_live("panic", false, "0x30000", &res);
	assert_false(res.success);
	assert_int_equal(res.revert.kind, ZG_SIM_REVERT_PANIC);
	assert_true(zg_u256_to_u64(&res.revert.panic_code, &code));
	assert_int_equal(code, 0x12);
	assert_string_equal(res.revert.reason,
	    "Panic(0x12): division or modulo by zero");
}

static void
live_success_estimate(void **state)
{
	zg_sim_result res;
	zg_u256 fee;

	SKIP_WITHOUT_NODE();
	simulate_live("success", false, "0x30000", &res);
	assert_true(res.success);
	assert_int_equal(res.revert.kind, ZG_SIM_OK);
	assert_true(res.has_gas_estimate);
	/* increment() writes a storage slot, which costs more than the
	 * 21000 of a plain transfer. */
	assert_true(res.gas_estimate > 21000);
	assert_true(res.gas_estimate < 0x30000);
	assert_true(res.balance_sufficient);
	/* The gas limit, not the estimate, sets the required balance. */
	zg_u256_from_u64(&fee, 0x30000ULL * 2000000000ULL);
	assert_int_equal(zg_u256_cmp(&res.required, &fee), 0);
}

static void
live_estimate_without_gas(void **state)
{
	zg_sim_result res;
	zg_u256 fee;

	SKIP_WITHOUT_NODE();
	/* A gas limit of 0 leaves it to the node, as when none is known. */
	simulate_live("success", false, "0x0", &res);
	assert_true(res.success);
	assert_true(res.has_gas_estimate);
	zg_u256_from_u64(&fee, res.gas_estimate * 2000000000ULL);
	assert_int_equal(zg_u256_cmp(&res.required, &fee), 0);
}

static void
live_unfunded_sender(void **state)
{
	zg_sim_result res;

	SKIP_WITHOUT_NODE();
	simulate_live("success", true, "0x30000", &res);
	assert_true(zg_u256_is_zero(&res.balance));
	assert_false(res.balance_sufficient);
}

static void
live_chain_id_mismatch(void **state)
{
	zg_tx tx = {.type = 2, .has_to = true};
	uint8_t from[20] = {0};
	zg_sim_result res;
	zg_errmsg em = {0};

	SKIP_WITHOUT_NODE();
	zg_u256_from_u64(&tx.chain_id, 1);
	assert_int_equal(zg_simulate(&tx, from, ready_str("url"), NULL, &res,
	    &em), ZG_ERR_UPSTREAM);
	assert_non_null(strstr(em.text, "serves chain id 1337, but the "
	    "transaction is for chain id 1"));
}

int
main(void)
{
	const struct CMUnitTest offline[] = {
		cmocka_unit_test(revert_message),
		cmocka_unit_test(revert_message_empty),
		cmocka_unit_test(revert_message_escaped),
		cmocka_unit_test(revert_message_cut),
		cmocka_unit_test(revert_message_bad_offset),
		cmocka_unit_test(revert_message_bad_length),
		cmocka_unit_test(revert_panic_division),
		cmocka_unit_test(revert_panic_codes),
		cmocka_unit_test(revert_panic_huge_code),
		cmocka_unit_test(revert_panic_short),
		cmocka_unit_test(revert_custom_selector),
		cmocka_unit_test(revert_empty),
		cmocka_unit_test(revert_too_short),
		cmocka_unit_test(endpoint_scheme_rejected),
		cmocka_unit_test(endpoint_name_redacted),
		cmocka_unit_test(rpc_chain_id_ok),
		cmocka_unit_test(rpc_http_error),
		cmocka_unit_test(rpc_malformed_json),
		cmocka_unit_test(rpc_wrong_id),
		cmocka_unit_test(rpc_result_not_quantity),
		cmocka_unit_test(rpc_method_not_found),
		cmocka_unit_test(rpc_response_too_large),
		cmocka_unit_test(rpc_slow_node_times_out),
		cmocka_unit_test(rpc_call_nested_revert),
		cmocka_unit_test(simulate_closed_port),
	};
	const struct CMUnitTest ganache[] = {
		cmocka_unit_test(live_revert_message),
		cmocka_unit_test(live_revert_custom),
		cmocka_unit_test(live_panic_division),
		cmocka_unit_test(live_success_estimate),
		cmocka_unit_test(live_estimate_without_gas),
		cmocka_unit_test(live_unfunded_sender),
		cmocka_unit_test(live_chain_id_mismatch),
	};
	int failed = cmocka_run_group_tests_name("simulate", offline, NULL,
	    NULL);
	failed += cmocka_run_group_tests_name("simulate_ganache", ganache,
	    live_setup, live_teardown);
	return failed == 0 ? 0 : 1;
}
