/*
 * The signing key routes over HTTP against the real daemon. The tests
 * cover create and import, the EIP-155 known-answer vector, list and get,
 * rotation, disable and enable, expiry, version destruction, raw digests,
 * ownership and the key_usage audit events. Bad input must be rejected
 * with a 400 that names the value and must leave every key unchanged.
 * One daemon serves every test of this file.
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

#include "zgtest.h"

/*
 * The example of EIP-155 (ethereum/EIPs, EIPS/eip-155.md, "Example"):
 * private key 0x46...46, nonce 9, gas price 20 gwei, gas 21000, to
 * 0x35...35, value 1 ether, empty data, chain id 1, and the signed
 * transaction it publishes. The address is the one of that private key.
 */
#define EIP155_KEY_HEX \
	"4646464646464646464646464646464646464646464646464646464646464646"
#define EIP155_ADDRESS "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"
#define EIP155_TX                                                            \
	"{\"chainId\":\"1\",\"type\":0,\"nonce\":\"9\",\"to\":"                \
	"\"0x3535353535353535353535353535353535353535\",\"value\":"          \
	"\"1000000000000000000\",\"data\":\"0x\",\"gas\":\"21000\","        \
	"\"gasPrice\":\"20000000000\"}"
#define EIP155_SIGNED                                                        \
	"0xf86c098504a817c800825208943535353535353535353535353535353535353535" \
	"880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71" \
	"ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc6421" \
	"4b297fb1966a3b6d83"

/* A small valid transaction that every signing test can send. */
#define SIMPLE_TX                                                            \
	"{\"chainId\":\"1337\",\"type\":2,\"nonce\":\"0\",\"to\":"             \
	"\"0x3535353535353535353535353535353535353535\",\"value\":\"1\","     \
	"\"gas\":\"21000\",\"maxFeePerGas\":\"2000000000\","                  \
	"\"maxPriorityFeePerGas\":\"1000000000\"}"

#define DIGEST_ONE                                                           \
	"{\"digest\":\"0x00000000000000000000000000000000000000000000000000" \
	"00000000000001\"}"

/* How long to wait for an audit event to reach the log. */
#define AUDIT_WAIT_MS 5000

static zgt_daemon srv;
static unsigned seed;
static char bob_token[128];      /* a second user, who owns nothing of admin's */
static char carol_token[128];    /* the user whose keys the bad-input tests use */
static char carol_key[64];       /* carol's secp256k1 key */

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Writes an RFC 3339 UTC date-time for the Unix time t. */
static void
rfc3339(time_t t, char *out, size_t outsz)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Sends a request and checks its status. When the status differs, prints
 * the body so that a failure shows the server's message. The caller frees
 * *r.
 */
static void
http(const char *method, const char *path, const char *token,
    const char *body, long status, zgt_resp *r)
{
	assert_int_equal(zgt_http(&srv, method, path, token, body, r), 0);
	if (r->status != status)
		fprintf(stderr, "%s %s: expected %ld, got %ld %s\n", method, path,
		    status, r->status, r->body ? r->body : "");
	assert_int_equal(r->status, status);
}

/* Like http, for requests whose response body is not needed. */
static void
http_status(const char *method, const char *path, const char *token,
    const char *body, long status)
{
	zgt_resp r;
	http(method, path, token, body, status, &r);
	zgt_resp_free(&r);
}

/*
 * Sends body to POST path (/v1/keys or /v1/keys/import) as the holder of
 * token, expects 201 and copies the new key's id into id.
 */
static void
new_key(const char *path, const char *token, const char *body, char *id,
    size_t idsz)
{
	zgt_resp r;
	http("POST", path, token, body, 201, &r);
	snprintf(id, idsz, "%s", zgt_str(&r, "id"));
	assert_int_equal(strlen(id), 28);
	assert_true(strncmp(id, "key_", 4) == 0);
	zgt_resp_free(&r);
}

static void
create_key(const char *token, const char *body, char *id, size_t idsz)
{
	new_key("/v1/keys", token, body, id, idsz);
}

/* Imports the EIP-155 private key as admin with label. */
static void
import_eip155(const char *label, char *id, size_t idsz)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"algorithm\":\"secp256k1\","
	    "\"privateKey\":\"0x" EIP155_KEY_HEX "\",\"label\":\"%s\"}", label);
	new_key("/v1/keys/import", srv.token, body, id, idsz);
}

/* Sends POST /v1/keys/{id}/<op> with body as token, expecting status. */
static void
key_post(const char *id, const char *op, const char *token, const char *body,
    long status, zgt_resp *r)
{
	char path[160];
	snprintf(path, sizeof(path), "/v1/keys/%s/%s", id, op);
	http("POST", path, token, body, status, r);
}

static void
key_post_status(const char *id, const char *op, const char *token,
    const char *body, long status)
{
	zgt_resp r;
	key_post(id, op, token, body, status, &r);
	zgt_resp_free(&r);
}

/* Reads GET /v1/keys/{id} as admin. The caller frees *r. */
static void
get_key(const char *id, zgt_resp *r)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", id);
	http("GET", path, srv.token, NULL, 200, r);
}

/* The "versions" item of version v in a key object, or NULL. */
static json_t *
version_of(json_t *key, json_int_t v)
{
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(key, "versions"), i, item) {
		if (json_integer_value(json_object_get(item, "version")) == v)
			return item;
	}
	return NULL;
}

static const char *
json_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

/* Returns the key list of token's holder as compact JSON, which the
 * caller frees. */
static char *
key_list(const char *token)
{
	zgt_resp r;
	http("GET", "/v1/keys?limit=1000", token, NULL, 200, &r);
	char *s = json_dumps(json_object_get(r.json, "items"),
	    JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	zgt_resp_free(&r);
	return s;
}

/* The number of audit events in the log now, read from its event list. */
static json_int_t
audit_size(void)
{
	json_int_t from = 0;
	for (;;) {
		char path[128];
		zgt_resp r;
		snprintf(path, sizeof(path), "/v1/audit/events?from=%lld"
		    "&limit=1000", (long long)from);
		http("GET", path, srv.token, NULL, 200, &r);
		json_t *events = json_object_get(r.json, "events");
		json_t *next = json_object_get(r.json, "next");
		size_t n = json_array_size(events);
		if (n > 0)
			from = json_integer_value(json_object_get(json_array_get(
			    events, n - 1), "leafIndex")) + 1;
		bool more = json_is_integer(next);
		zgt_resp_free(&r);
		if (!more)
			return from;
	}
}

/*
 * Returns the successful key_usage events of key id from leaf index
 * `from` on, waiting up to AUDIT_WAIT_MS for at least want of them, because the
 * audit writer may lag the response by a moment. Also copies the whole
 * response body of the last read into *body (caller frees).
 */
static json_t *
key_usage_events(const char *id, json_int_t from, size_t want, char **body)
{
	json_t *found = NULL;
	for (long waited = 0;; waited += 100) {
		char path[256];
		zgt_resp r;
		json_decref(found);
		found = json_array();
		snprintf(path, sizeof(path), "/v1/audit/events?from=%lld"
		    "&limit=1000&resource=keys/%s", (long long)from, id);
		http("GET", path, srv.token, NULL, 200, &r);
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(r.json, "events"), i, item) {
			json_t *ev = json_object_get(item, "event");
			if (strcmp(json_str(ev, "eventType"), "key_usage") == 0 &&
			    json_is_true(json_object_get(ev, "success")))
				json_array_append(found, ev);
		}
		if (json_array_size(found) >= want || waited >= AUDIT_WAIT_MS) {
			*body = strdup(r.body ? r.body : "");
			zgt_resp_free(&r);
			return found;
		}
		zgt_resp_free(&r);
		sleep_ms(100);
	}
}

/*
 * Sends POST path with body as the holder of token and copies the string
 * field of the 201 response into out. Returns 0 on success. Group setup
 * uses it because asserts cannot report there.
 */
static int
setup_post(const char *path, const char *token, const char *body,
    const char *field, char *out, size_t outsz)
{
	zgt_resp r;
	if (zgt_http(&srv, "POST", path, token, body, &r) != 0)
		return -1;
	int rc = r.status == 201 && zgt_str(&r, field)[0] != '\0' ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "POST %s: %ld %s\n", path, r.status,
		    r.body ? r.body : "");
	snprintf(out, outsz, "%s", zgt_str(&r, field));
	zgt_resp_free(&r);
	return rc;
}

static int
group_setup(void **state)
{
	seed = zgt_seed("test_api_keys");
	if (zgt_daemon_start(&srv, NULL) != 0)
		return -1;
	if (setup_post("/v1/tokens", srv.token, "{\"userId\":\"bob\"}",
	    "token", bob_token, sizeof(bob_token)) != 0 ||
	    setup_post("/v1/tokens", srv.token, "{\"userId\":\"carol\"}",
	    "token", carol_token, sizeof(carol_token)) != 0 ||
	    setup_post("/v1/keys", carol_token, "{\"algorithm\":\"secp256k1\","
	    "\"label\":\"carol\"}", "id", carol_key, sizeof(carol_key)) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	int rc = 0;
	zgt_daemon_stop(&srv);
	/* The daemon logs rejected requests below error level, so an error
	 * line is a fault. */
	if (zgt_log_has_errors(&srv)) {
		fprintf(stderr, "the daemon log has errors: %s\n",
		    srv.log_path);
		rc = -1;
	} else {
		zgt_daemon_cleanup(&srv);
	}
	zgt_http_thread_done();
	return rc;
}

/* ---- create, import, read ---- */

static void
check_created(const char *alg, size_t pub_hex_len, bool has_address)
{
	char body[128];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"algorithm\":\"%s\",\"backend\":"
	    "\"software\",\"label\":\"create-%s\"}", alg, alg);
	http("POST", "/v1/keys", srv.token, body, 201, &r);
	assert_true(strncmp(zgt_str(&r, "id"), "key_", 4) == 0);
	assert_string_equal(zgt_str(&r, "algorithm"), alg);
	assert_string_equal(zgt_str(&r, "backend"), "software");
	assert_string_equal(zgt_str(&r, "status"), "active");
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")),
	    1);
	assert_int_equal(strlen(zgt_str(&r, "publicKey")), pub_hex_len);
	assert_true(strncmp(zgt_str(&r, "publicKey"), "0x", 2) == 0);
	if (has_address) {
		assert_int_equal(strlen(zgt_str(&r, "address")), 42);
		assert_true(strncmp(zgt_str(&r, "address"), "0x", 2) == 0);
	} else {
		assert_true(json_is_null(json_object_get(r.json, "address")));
	}
	assert_int_equal(json_array_size(json_object_get(r.json, "versions")),
	    1);
	assert_null(strstr(r.body, "privateKey"));
	zgt_resp_free(&r);
}

static void
create_secp256k1(void **state)
{
	/* "0x04" and x, y of 32 bytes each */
	check_created("secp256k1", 2 + 130, true);
}

static void
create_ed25519(void **state)
{
	check_created("ed25519", 2 + 64, false);
}

static void
create_p256(void **state)
{
	check_created("p256", 2 + 130, false);
}

static void
import_eip155_address(void **state)
{
	char id[64];
	zgt_resp r;
	import_eip155("import-address", id, sizeof(id));
	get_key(id, &r);
	assert_string_equal(zgt_str(&r, "address"), EIP155_ADDRESS);
	assert_string_equal(zgt_str(&r, "backend"), "software");
	assert_string_equal(zgt_str(&r, "label"), "import-address");
	assert_null(strstr(r.body, EIP155_KEY_HEX));
	zgt_resp_free(&r);
}

static void
sign_eip155_vector(void **state)
{
	char id[64];
	zgt_resp r;
	import_eip155("eip155-vector", id, sizeof(id));
	key_post(id, "sign-transaction", srv.token, EIP155_TX, 200, &r);
	assert_string_equal(zgt_str(&r, "rawTransaction"), EIP155_SIGNED);
	assert_string_equal(zgt_str(&r, "from"), EIP155_ADDRESS);
	assert_int_equal(strlen(zgt_str(&r, "hash")), 66);
	zgt_resp_free(&r);
}

static void
list_and_get(void **state)
{
	char ids[2][64], label[64];
	zgt_resp r;

	snprintf(label, sizeof(label), "list-%u", seed);
	for (int i = 0; i < 2; i++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"algorithm\":\"p256\","
		    "\"label\":\"%s\"}", label);
		create_key(srv.token, body, ids[i], sizeof(ids[i]));
	}
	http("GET", "/v1/keys?limit=1000", srv.token, NULL, 200, &r);
	int seen = 0;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(r.json, "items"), i, item) {
		for (int k = 0; k < 2; k++)
			if (strcmp(json_str(item, "id"), ids[k]) == 0)
				seen |= 1 << k;
	}
	assert_int_equal(seen, 3);
	zgt_resp_free(&r);

	get_key(ids[1], &r);
	assert_string_equal(zgt_str(&r, "id"), ids[1]);
	assert_string_equal(zgt_str(&r, "label"), label);
	assert_string_equal(zgt_str(&r, "algorithm"), "p256");
	zgt_resp_free(&r);

	http_status("GET", "/v1/keys/key_000000000000000000000000", srv.token,
	    NULL, 404);
}

/* ---- lifecycle ---- */

static void
rotate_signs_with_new(void **state)
{
	char id[64], old_addr[64], new_addr[64];
	zgt_resp r;

	create_key(srv.token, "{\"algorithm\":\"secp256k1\"}", id, sizeof(id));
	get_key(id, &r);
	snprintf(old_addr, sizeof(old_addr), "%s", zgt_str(&r, "address"));
	zgt_resp_free(&r);

	key_post(id, "rotate", srv.token, NULL, 200, &r);
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")),
	    2);
	snprintf(new_addr, sizeof(new_addr), "%s", zgt_str(&r, "address"));
	assert_string_not_equal(new_addr, old_addr);
	json_t *v1 = version_of(r.json, 1);
	json_t *v2 = version_of(r.json, 2);
	assert_non_null(v1);
	assert_non_null(v2);
	assert_string_equal(json_str(v1, "address"), old_addr);
	assert_string_equal(json_str(v1, "state"), "active");
	assert_string_equal(json_str(v2, "address"), new_addr);
	zgt_resp_free(&r);

	key_post(id, "sign-transaction", srv.token, SIMPLE_TX, 200, &r);
	assert_string_equal(zgt_str(&r, "from"), new_addr);
	zgt_resp_free(&r);
}

static void
disable_then_enable(void **state)
{
	char id[64];
	zgt_resp r;

	create_key(srv.token, "{\"algorithm\":\"secp256k1\"}", id, sizeof(id));
	key_post(id, "disable", srv.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "disabled");
	zgt_resp_free(&r);

	key_post(id, "sign-transaction", srv.token, SIMPLE_TX, 409, &r);
	assert_string_equal(zgt_error_code(&r), "disabled");
	assert_non_null(strstr(r.body, id));
	zgt_resp_free(&r);
	key_post(id, "sign-message", srv.token, "{\"message\":\"hi\"}", 409,
	    &r);
	assert_string_equal(zgt_error_code(&r), "disabled");
	zgt_resp_free(&r);

	key_post(id, "enable", srv.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "status"), "active");
	zgt_resp_free(&r);
	key_post_status(id, "sign-transaction", srv.token, SIMPLE_TX, 200);
}

static void
expires_in_past_rejected(void **state)
{
	char *before = key_list(srv.token);
	zgt_resp r;
	http("POST", "/v1/keys", srv.token, "{\"algorithm\":\"secp256k1\","
	    "\"expiresAt\":\"2001-02-03T04:05:06Z\"}", 400, &r);
	assert_non_null(strstr(r.body, "2001-02-03T04:05:06Z"));
	zgt_resp_free(&r);
	char *after = key_list(srv.token);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

static void
expiring_key_stops(void **state)
{
	char id[64], body[160], when[40];
	zgt_resp r;

	/* Five seconds ahead: enough for one signature on a loaded machine,
	 * short for a test. */
	time_t expires = time(NULL) + 5;
	rfc3339(expires, when, sizeof(when));
	snprintf(body, sizeof(body), "{\"algorithm\":\"secp256k1\","
	    "\"expiresAt\":\"%s\"}", when);
	create_key(srv.token, body, id, sizeof(id));
	key_post_status(id, "sign-transaction", srv.token, SIMPLE_TX, 200);

	while (time(NULL) <= expires)
		sleep_ms(200);
	key_post(id, "sign-transaction", srv.token, SIMPLE_TX, 410, &r);
	assert_string_equal(zgt_error_code(&r), "expired");
	zgt_resp_free(&r);
	key_post(id, "sign-message", srv.token, "{\"message\":\"late\"}", 410,
	    &r);
	assert_string_equal(zgt_error_code(&r), "expired");
	zgt_resp_free(&r);

	get_key(id, &r);
	assert_string_equal(zgt_str(&r, "status"), "expired");
	zgt_resp_free(&r);
}

static void
version_destroy(void **state)
{
	char id[64], old_pub[160];
	zgt_resp r;

	create_key(srv.token, "{\"algorithm\":\"secp256k1\"}", id, sizeof(id));
	get_key(id, &r);
	snprintf(old_pub, sizeof(old_pub), "%s", zgt_str(&r, "publicKey"));
	zgt_resp_free(&r);
	key_post_status(id, "rotate", srv.token, NULL, 200);

	key_post(id, "versions/1/destroy", srv.token, NULL, 200, &r);
	json_t *v1 = version_of(r.json, 1);
	assert_non_null(v1);
	assert_string_equal(json_str(v1, "state"), "destroyed");
	/* The public key stays, for verifying old signatures. */
	assert_string_equal(json_str(v1, "publicKey"), old_pub);
	assert_string_equal(json_str(version_of(r.json, 2), "state"),
	    "active");
	zgt_resp_free(&r);

	/* Destroying twice is not an error. */
	key_post_status(id, "versions/1/destroy", srv.token, NULL, 200);
	key_post_status(id, "sign-transaction", srv.token, SIMPLE_TX, 200);

	/* With its newest version destroyed the key signs nothing. */
	key_post_status(id, "versions/2/destroy", srv.token, NULL, 200);
	key_post(id, "sign-transaction", srv.token, SIMPLE_TX, 410, &r);
	assert_string_equal(zgt_error_code(&r), "revoked");
	zgt_resp_free(&r);

	key_post_status(id, "versions/3/destroy", srv.token, NULL, 404);
	key_post_status(id, "versions/0/destroy", srv.token, NULL, 400);
}

static void
version_disable(void **state)
{
	char id[64];
	zgt_resp r;

	create_key(srv.token, "{\"algorithm\":\"secp256k1\"}", id, sizeof(id));
	key_post(id, "versions/1/disable", srv.token, NULL, 200, &r);
	assert_string_equal(json_str(version_of(r.json, 1), "state"),
	    "disabled");
	zgt_resp_free(&r);
	key_post(id, "sign-transaction", srv.token, SIMPLE_TX, 409, &r);
	assert_string_equal(zgt_error_code(&r), "disabled");
	zgt_resp_free(&r);
	key_post_status(id, "versions/1/enable", srv.token, NULL, 200);
	key_post_status(id, "sign-transaction", srv.token, SIMPLE_TX, 200);
}

/* ---- raw digests and ownership ---- */

static void
raw_digest_needs_flag(void **state)
{
	char id[64];
	zgt_resp r;

	create_key(srv.token, "{\"algorithm\":\"secp256k1\"}", id, sizeof(id));
	key_post(id, "sign", srv.token, DIGEST_ONE, 403, &r);
	assert_string_equal(zgt_error_code(&r), "forbidden");
	assert_non_null(strstr(r.body, "allowRawDigest"));
	zgt_resp_free(&r);
}

static void
raw_digest_allowed(void **state)
{
	char id[64];
	zgt_resp r;

	create_key(srv.token, "{\"algorithm\":\"secp256k1\","
	    "\"allowRawDigest\":true}", id, sizeof(id));
	key_post(id, "sign", srv.token, DIGEST_ONE, 200, &r);
	/* "0x" and r || s || v, 65 bytes */
	assert_int_equal(strlen(zgt_str(&r, "signature")), 2 + 130);
	zgt_resp_free(&r);

	create_key(srv.token, "{\"algorithm\":\"ed25519\","
	    "\"allowRawDigest\":true}", id, sizeof(id));
	key_post(id, "sign", srv.token, DIGEST_ONE, 200, &r);
	assert_int_equal(strlen(zgt_str(&r, "signature")), 2 + 128);
	zgt_resp_free(&r);
}

static void
other_user_gets_404(void **state)
{
	char id[64], path[128];
	zgt_resp r;

	create_key(srv.token, "{\"algorithm\":\"secp256k1\","
	    "\"allowRawDigest\":true}", id, sizeof(id));
	snprintf(path, sizeof(path), "/v1/keys/%s", id);
	http_status("GET", path, bob_token, NULL, 404);
	key_post_status(id, "sign-transaction", bob_token, SIMPLE_TX, 404);
	key_post_status(id, "sign-message", bob_token, "{\"message\":\"hi\"}",
	    404);
	key_post_status(id, "sign", bob_token, DIGEST_ONE, 404);
	key_post_status(id, "rotate", bob_token, NULL, 404);
	key_post_status(id, "disable", bob_token, NULL, 404);
	key_post_status(id, "versions/1/destroy", bob_token, NULL, 404);

	http("GET", "/v1/keys?limit=1000", bob_token, NULL, 200, &r);
	assert_null(strstr(r.body, id));
	zgt_resp_free(&r);

	/* None of those requests changed the key. */
	get_key(id, &r);
	assert_string_equal(zgt_str(&r, "status"), "active");
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")),
	    1);
	assert_string_equal(json_str(version_of(r.json, 1), "state"),
	    "active");
	zgt_resp_free(&r);
}

/* ---- audit ---- */

static void
signatures_are_audited(void **state)
{
	static const char typed[] = "{\"typedData\":{\"types\":{\"Note\":["
	    "{\"name\":\"text\",\"type\":\"string\"}]},\"primaryType\":\"Note\","
	    "\"domain\":{\"name\":\"zguard-test\",\"chainId\":1},"
	    "\"message\":{\"text\":\"audited\"}}}";
	char id[64], hash[80], *body = NULL;
	zgt_resp r;

	json_int_t from = audit_size();
	char import_body[256];
	snprintf(import_body, sizeof(import_body), "{\"algorithm\":\"secp256k1\","
	    "\"privateKey\":\"" EIP155_KEY_HEX "\",\"allowRawDigest\":true}");
	new_key("/v1/keys/import", srv.token, import_body, id, sizeof(id));

	key_post(id, "sign-transaction", srv.token, EIP155_TX, 200, &r);
	snprintf(hash, sizeof(hash), "%s", zgt_str(&r, "hash"));
	zgt_resp_free(&r);
	key_post_status(id, "sign-message", srv.token, "{\"message\":\"hi\"}",
	    200);
	key_post_status(id, "sign-typed-data", srv.token, typed, 200);
	key_post_status(id, "sign", srv.token, DIGEST_ONE, 200);

	json_t *events = key_usage_events(id, from, 4, &body);
	assert_int_equal(json_array_size(events), 4);
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev) {
		json_t *meta = json_object_get(ev, "metadata");
		assert_string_equal(json_str(meta, "keyId"), id);
		assert_int_equal(json_integer_value(json_object_get(meta,
		    "keyVersion")), 1);
		/* A typed-data domain names its chain too. */
		if (strcmp(json_str(ev, "action"), "sign_typed_data") == 0)
			assert_string_equal(json_str(meta, "chainId"), "1");
		if (strcmp(json_str(ev, "action"), "sign_transaction") != 0)
			continue;
		assert_string_equal(json_str(meta, "chainId"), "1");
		assert_string_equal(json_str(meta, "txHash"), hash);
	}
	/* No event from the import on contains the private key. */
	assert_null(strstr(body, EIP155_KEY_HEX));
	assert_null(strstr(body, "privateKey"));
	json_decref(events);
	free(body);
}

/* ---- bad input: a clear 4xx, and carol's keys stay as they were ---- */

/*
 * Sends body as carol to op, a full path when it starts with '/' and a
 * route under carol's key otherwise. Expects 400 with a message that
 * contains needle, and checks that carol's key list is unchanged.
 */
static void
expect_rejected(const char *op, const char *body, const char *needle)
{
	char path[160];
	zgt_resp r;

	if (op[0] == '/')
		snprintf(path, sizeof(path), "%s", op);
	else
		snprintf(path, sizeof(path), "/v1/keys/%s/%s", carol_key, op);
	char *before = key_list(carol_token);
	http("POST", path, carol_token, body, 400, &r);
	assert_string_equal(zgt_error_code(&r), "invalid_argument");
	if (strstr(r.body, needle) == NULL)
		fprintf(stderr, "expected \"%s\" in %s\n", needle, r.body);
	assert_non_null(strstr(r.body, needle));
	zgt_resp_free(&r);
	char *after = key_list(carol_token);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

/*
 * Sends a type 0 request to chain 1 whose fields are overridden by those
 * of the JSON object fields, expecting a rejection that contains needle.
 */
static void
expect_tx_rejected(const char *fields, const char *needle)
{
	json_t *tx = json_loads("{\"chainId\":\"1\",\"type\":0,\"nonce\":\"1\","
	    "\"to\":\"0x3535353535353535353535353535353535353535\","
	    "\"gas\":\"21000\",\"gasPrice\":\"1\"}", 0, NULL);
	json_t *over = json_loads(fields, 0, NULL);
	assert_non_null(tx);
	assert_non_null(over);
	assert_int_equal(json_object_update(tx, over), 0);
	char *body = json_dumps(tx, JSON_COMPACT);
	assert_non_null(body);
	expect_rejected("sign-transaction", body, needle);
	free(body);
	json_decref(over);
	json_decref(tx);
}

static void
bad_algorithm(void **state)
{
	expect_rejected("/v1/keys", "{\"algorithm\":\"rsa2048\"}", "rsa2048");
	expect_rejected("/v1/keys/import", "{\"algorithm\":\"dsa\","
	    "\"privateKey\":\"0x" EIP155_KEY_HEX "\"}", "dsa");
}

static void
bad_backend(void **state)
{
	expect_rejected("/v1/keys", "{\"algorithm\":\"secp256k1\","
	    "\"backend\":\"tpm\"}", "tpm");
}

static void
bad_expires_at(void **state)
{
	expect_rejected("/v1/keys", "{\"algorithm\":\"secp256k1\","
	    "\"expiresAt\":\"1999-12-31T23:59:59Z\"}", "1999-12-31T23:59:59Z");
	expect_rejected("/v1/keys", "{\"algorithm\":\"secp256k1\","
	    "\"expiresAt\":\"tomorrow\"}", "tomorrow");
}

static void
bad_chain_id_zero(void **state)
{
	expect_tx_rejected("{\"chainId\":\"0\"}", "chainId");
	expect_tx_rejected("{\"chainId\":0}", "chainId");
}

static void
bad_negative_integer(void **state)
{
	expect_tx_rejected("{\"nonce\":\"-1\"}", "nonce");
	expect_tx_rejected("{\"nonce\":-1}", "nonce");
	expect_tx_rejected("{\"value\":\"-5\"}", "value");
}

static void
bad_integer_too_large(void **state)
{
	/* 2^256 in decimal and in hex, one above the largest valid value. */
	expect_tx_rejected("{\"value\":\"115792089237316195423570985008687907853"
	    "269984665640564039457584007913129639936\"}", "value");
	expect_tx_rejected("{\"value\":\"0x1000000000000000000000000000000000000"
	    "0000000000000000000000000000\"}", "value");
	/* A JSON number above 2^53-1 loses precision in JavaScript. */
	expect_tx_rejected("{\"value\":9007199254740993}", "9007199254740993");

	/* 2^256-1 itself is valid. */
	key_post_status(carol_key, "sign-transaction", carol_token, "{\"chainId\":"
	    "\"1\",\"type\":0,\"nonce\":\"1\",\"to\":\"0x35353535353535353535"
	    "35353535353535353535\",\"gas\":\"21000\",\"gasPrice\":\"1\","
	    "\"value\":\"0xffffffffffffffffffffffffffffffffffffffffffffffffffff"
	    "ffffffffffff\"}", 200);
}

static void
bad_hex_prefix_or_length(void **state)
{
	expect_tx_rejected("{\"data\":\"abcd\"}", "abcd");
	expect_tx_rejected("{\"data\":\"0xabc\"}", "0xabc");
	expect_rejected("sign-message", "{\"message\":\"6869\","
	    "\"encoding\":\"hex\"}", "6869");
	expect_rejected("sign-message", "{\"message\":\"0x686\","
	    "\"encoding\":\"hex\"}", "0x686");
}

static void
bad_to_address(void **state)
{
	/* 19 and 21 bytes, and no 0x */
	expect_tx_rejected("{\"to\":\"0x35353535353535353535353535353535353535\"}",
	    "0x35353535353535353535353535353535353535");
	expect_tx_rejected("{\"to\":\"0x353535353535353535353535353535353535353535\"}",
	    "0x353535353535353535353535353535353535353535");
	expect_tx_rejected("{\"to\":\"3535353535353535353535353535353535353535\"}",
	    "3535353535353535353535353535353535353535");
	/* The EIP-55 form of the EIP-155 address with one letter's case
	 * flipped (the first 'd' to 'D' after 0x9): mixed case that fails. */
	expect_tx_rejected("{\"to\":\"0x9D8A62f656a8d1615C1294fd71e9CFb3E4855A4F\"}",
	    "EIP-55");
}

static void
bad_data_not_hex(void **state)
{
	expect_tx_rejected("{\"data\":\"0xzz12\"}", "0xzz12");
	expect_tx_rejected("{\"data\":12}", "data");
}

static void
bad_typed_data(void **state)
{
	/* Mail names a type Person that types does not declare. */
	expect_rejected("sign-typed-data", "{\"typedData\":{\"types\":{\"Mail\":"
	    "[{\"name\":\"from\",\"type\":\"Person\"}]},\"primaryType\":\"Mail\","
	    "\"domain\":{\"name\":\"t\"},\"message\":{\"from\":{\"name\":\"a\"}}}}",
	    "Person");
	/* A contains B, which contains A. */
	expect_rejected("sign-typed-data", "{\"typedData\":{\"types\":{\"A\":"
	    "[{\"name\":\"b\",\"type\":\"B\"}],\"B\":[{\"name\":\"a\",\"type\":"
	    "\"A\"}]},\"primaryType\":\"A\",\"domain\":{\"name\":\"t\"},"
	    "\"message\":{\"b\":{\"a\":{}}}}}", "cycle");
	/* 256 does not fit uint8, five bytes do not fit bytes4. */
	expect_rejected("sign-typed-data", "{\"typedData\":{\"types\":{\"A\":"
	    "[{\"name\":\"n\",\"type\":\"uint8\"}]},\"primaryType\":\"A\","
	    "\"domain\":{\"name\":\"t\"},\"message\":{\"n\":256}}}", "message.n");
	expect_rejected("sign-typed-data", "{\"typedData\":{\"types\":{\"A\":"
	    "[{\"name\":\"n\",\"type\":\"bytes4\"}]},\"primaryType\":\"A\","
	    "\"domain\":{\"name\":\"t\"},\"message\":{\"n\":\"0x0102030405\"}}}",
	    "0x0102030405");
	expect_rejected("sign-typed-data", "{\"typedData\":{\"types\":{\"A\":"
	    "[{\"name\":\"n\",\"type\":\"int8\"}]},\"primaryType\":\"A\","
	    "\"domain\":{\"name\":\"t\"},\"message\":{\"n\":-129}}}", "message.n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_secp256k1),
		cmocka_unit_test(create_ed25519),
		cmocka_unit_test(create_p256),
		cmocka_unit_test(import_eip155_address),
		cmocka_unit_test(sign_eip155_vector),
		cmocka_unit_test(list_and_get),
		cmocka_unit_test(rotate_signs_with_new),
		cmocka_unit_test(disable_then_enable),
		cmocka_unit_test(expires_in_past_rejected),
		cmocka_unit_test(expiring_key_stops),
		cmocka_unit_test(version_destroy),
		cmocka_unit_test(version_disable),
		cmocka_unit_test(raw_digest_needs_flag),
		cmocka_unit_test(raw_digest_allowed),
		cmocka_unit_test(other_user_gets_404),
		cmocka_unit_test(signatures_are_audited),
		cmocka_unit_test(bad_algorithm),
		cmocka_unit_test(bad_backend),
		cmocka_unit_test(bad_expires_at),
		cmocka_unit_test(bad_chain_id_zero),
		cmocka_unit_test(bad_negative_integer),
		cmocka_unit_test(bad_integer_too_large),
		cmocka_unit_test(bad_hex_prefix_or_length),
		cmocka_unit_test(bad_to_address),
		cmocka_unit_test(bad_data_not_hex),
		cmocka_unit_test(bad_typed_data),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
