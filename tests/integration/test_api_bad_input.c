/*
 * Bad input over HTTP, one test per kind: each checks the status, the error
 * code and that the message names the bad field or value. The last test
 * checks that a credential stored before all of them is unchanged and the
 * daemon still healthy. One daemon serves every test of this file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zgtest.h"

#define MAX_BODY_BYTES (1024 * 1024)
#define MAX_VALUE_BYTES (64 * 1024)

static zgt_daemon srv;
static unsigned seed;
static char keeper_id[64];
static char keeper_value[40];
static char *big_body;      /* see body_with_value_size */

/* Writes n random lowercase hex digits and a NUL into out. */
static void
random_hex(unsigned *state, char *out, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++)
		out[i] = digits[rand_r(state) % 16];
	out[n] = '\0';
}

static int
group_setup(void **state)
{
	char body[256];
	zgt_resp r;
	unsigned rs;

	seed = zgt_seed("test_api_bad_input");
	rs = seed;
	random_hex(&rs, keeper_value, 32);
	if (zgt_daemon_start(&srv, NULL) != 0)
		return -1;
	snprintf(body, sizeof(body), "{\"type\":\"private_key\","
	    "\"name\":\"keeper\",\"value\":\"%s\"}", keeper_value);
	if (zgt_http(&srv, "POST", "/v1/credentials", srv.token, body, &r) != 0 ||
	    r.status != 201) {
		zgt_resp_free(&r);
		return -1;
	}
	snprintf(keeper_id, sizeof(keeper_id), "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
	return 0;
}

static int
group_teardown(void **state)
{
	int rc = 0;
	zgt_daemon_stop(&srv);
	if (zgt_log_has_errors(&srv)) {
		fprintf(stderr, "the daemon log has errors: %s\n", srv.log_path);
		rc = -1;
	} else {
		zgt_daemon_cleanup(&srv);
	}
	zgt_http_thread_done();
	free(big_body);
	return rc;
}

/*
 * Checks an error response: the status, the code and that the message
 * contains needle (skipped when needle is NULL).
 */
static void
check_error(const zgt_resp *r, long status, const char *code,
    const char *needle)
{
	const char *message = "";
	json_t *e = r->json ? json_object_get(r->json, "error") : NULL;
	if (e != NULL && json_is_string(json_object_get(e, "message")))
		message = json_string_value(json_object_get(e, "message"));
	if (r->status != status || strcmp(zgt_error_code(r), code) != 0 ||
	    (needle != NULL && strstr(message, needle) == NULL))
		fprintf(stderr, "expected %ld %s with \"%s\"; got %ld %s\n",
		    status, code, needle ? needle : "", r->status,
		    r->body ? r->body : "(no body)");
	assert_int_equal(r->status, status);
	assert_string_equal(zgt_error_code(r), code);
	if (needle != NULL)
		assert_non_null(strstr(message, needle));
	assert_true(r->request_id[0] != '\0');
}

/* Sends a request with the admin token and checks the error response. */
static void
send_bad(const char *method, const char *path, const char *body,
    long status, const char *code, const char *needle)
{
	zgt_resp r;
	assert_int_equal(zgt_http(&srv, method, path, srv.token, body, &r), 0);
	check_error(&r, status, code, needle);
	zgt_resp_free(&r);
}

/* Like send_bad for a create request; raw may contain any bytes. */
static void
create_bad(const char *raw, size_t len, long status, const char *code,
    const char *needle)
{
	zgt_resp r;
	assert_int_equal(zgt_http_raw(&srv, "POST", "/v1/credentials",
	    srv.token, raw, len, &r), 0);
	check_error(&r, status, code, needle);
	zgt_resp_free(&r);
}

static void
create_bad_str(const char *body, long status, const char *code,
    const char *needle)
{
	create_bad(body, strlen(body), status, code, needle);
}

/*
 * Builds a create request body whose value has n bytes of 'v'. The buffer
 * is kept in big_body and freed by the group teardown, so that a failed
 * assertion does not leak it.
 */
static char *
body_with_value_size(const char *name, size_t n)
{
	size_t cap = n + 512;
	free(big_body);
	big_body = malloc(cap);
	assert_non_null(big_body);
	int off = snprintf(big_body, cap,
	    "{\"type\":\"api_token\",\"name\":\"%s\",\"value\":\"", name);
	memset(big_body + off, 'v', n);
	snprintf(big_body + off + n, cap - (size_t)off - n, "\"}");
	return big_body;
}

static void
malformed_json(void **state)
{
	create_bad_str("{\"type\":\"api_token\",\"name\":", 400, "invalid_json",
	    "column");
}

static void
empty_body(void **state)
{
	create_bad("", 0, 400, "invalid_json", "empty");
}

static void
array_body(void **state)
{
	create_bad_str("[\"api_token\",\"n\",\"v\"]", 400, "invalid_argument",
	    "JSON object");
}

static void
type_is_number(void **state)
{
	create_bad_str("{\"type\":5,\"name\":\"n\",\"value\":\"v\"}", 400,
	    "invalid_argument", "\"type\"");
}

static void
value_is_object(void **state)
{
	create_bad_str("{\"type\":\"api_token\",\"name\":\"n\",\"value\":{}}",
	    400, "invalid_argument", "\"value\"");
}

static void
ttl_is_string(void **state)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/credentials/%s/lease", keeper_id);
	send_bad("POST", path, "{\"ttlSeconds\":\"60\"}", 400,
	    "invalid_argument", "\"ttlSeconds\"");
}

static void
missing_type(void **state)
{
	create_bad_str("{\"name\":\"n\",\"value\":\"v\"}", 400,
	    "invalid_argument", "\"type\"");
}

static void
missing_name(void **state)
{
	create_bad_str("{\"type\":\"api_token\",\"value\":\"v\"}", 400,
	    "invalid_argument", "\"name\"");
}

static void
missing_value(void **state)
{
	create_bad_str("{\"type\":\"api_token\",\"name\":\"n\"}", 400,
	    "invalid_argument", "\"value\"");
}

static void
unknown_type(void **state)
{
	create_bad_str("{\"type\":\"pgp\",\"name\":\"n\",\"value\":\"v\"}", 400,
	    "invalid_argument", "pgp");
}

static void
unknown_field(void **state)
{
	create_bad_str("{\"type\":\"api_token\",\"name\":\"n\",\"value\":\"v\","
	    "\"color\":\"red\"}", 400, "invalid_argument", "\"color\"");
}

static void
body_over_limit(void **state)
{
	char *body = body_with_value_size("too-big", MAX_BODY_BYTES);
	size_t len = MAX_BODY_BYTES + 1;
	zgt_resp r;

	/* Cut to exactly one byte over the limit; the JSON stays unfinished. */
	assert_true(strlen(body) > len);
	assert_int_equal(zgt_http_raw(&srv, "POST", "/v1/credentials",
	    srv.token, body, len, &r), 0);
	check_error(&r, 413, "payload_too_large", "1048576");
	zgt_resp_free(&r);
}

static void
chunked_body_over_limit(void **state)
{
	char *body = body_with_value_size("too-big-chunked", MAX_BODY_BYTES);
	size_t len = MAX_BODY_BYTES + 1;
	zgt_resp r;

	/*
	 * NOTE: this fails until the daemon is fixed. It queues the 413 while
	 * the chunked body is still arriving, which libmicrohttpd 0.9.75
	 * rejects. The daemon then logs "Application reported internal error,
	 * closing connection" and the client gets no response at all.
	 */
	assert_int_equal(zgt_http_chunked(&srv, "POST", "/v1/credentials",
	    srv.token, body, len, &r), 0);
	check_error(&r, 413, "payload_too_large", "1048576");
	zgt_resp_free(&r);
}

static void
value_over_limit(void **state)
{
	char *body = body_with_value_size("value-too-big", MAX_VALUE_BYTES + 1);
	create_bad_str(body, 413, "payload_too_large", "\"value\"");
}

static void
value_at_limit_accepted(void **state)
{
	char *body = body_with_value_size("value-at-limit", MAX_VALUE_BYTES);
	zgt_resp r;
	assert_int_equal(zgt_http(&srv, "POST", "/v1/credentials", srv.token,
	    body, &r), 0);
	assert_int_equal(r.status, 201);
	zgt_resp_free(&r);
}

static void
empty_value(void **state)
{
	create_bad_str("{\"type\":\"api_token\",\"name\":\"n\",\"value\":\"\"}",
	    400, "invalid_argument", "\"value\"");
}

static void
invalid_utf8(void **state)
{
	static const char body[] =
	    "{\"type\":\"api_token\",\"name\":\"bad\xff\",\"value\":\"v\"}";
	create_bad(body, sizeof(body) - 1, 400, "invalid_json", "0xff");
}

static void
nul_escape(void **state)
{
	create_bad_str("{\"type\":\"api_token\",\"name\":\"a\\u0000b\","
	    "\"value\":\"v\"}", 400, "invalid_json", "\\u0000");
}

static void
ids_not_ids(void **state)
{
	static const char *const suffixes[] = {"", "/value", "/rotate",
	    "/revoke", "/lease"};
	char long_id[301], long_cred[301];
	memset(long_id, 'a', 300);
	long_id[300] = '\0';
	memcpy(long_cred, "cred_", 5);
	memset(long_cred + 5, 'f', 295);
	long_cred[300] = '\0';
	const char *const ids[] = {"..", "../etc", "cred_zz", long_id, long_cred,
	    "%2e%2e%2f", "%2e%2e%2fetc%2fpasswd",
	    "CRED_0123456789ABCDEF0123456789ABCDEF",
	    "cred_00000000000000000000000000000000"};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]);
		    k++) {
			char path[1024];
			const char *method = k < 2 ? "GET" : "POST";
			const char *body = strcmp(suffixes[k], "/lease") == 0 ?
			    "{\"ttlSeconds\":60}" : NULL;
			zgt_resp r;
			snprintf(path, sizeof(path), "/v1/credentials/%s%s",
			    ids[i], suffixes[k]);
			assert_int_equal(zgt_http(&srv, method, path, srv.token,
			    body, &r), 0);
			if (r.status != 400 && r.status != 404)
				fprintf(stderr, "%s %s: %ld %s\n", method, path,
				    r.status, r.body ? r.body : "");
			assert_true(r.status == 400 || r.status == 404);
			assert_true(strcmp(zgt_error_code(&r),
			    "invalid_argument") == 0 ||
			    strcmp(zgt_error_code(&r), "not_found") == 0);
			assert_true(r.request_id[0] != '\0');
			zgt_resp_free(&r);
		}
	}
	send_bad("GET", "/v1/credentials/cred_zz", NULL, 400,
	    "invalid_argument", "cred_zz");
	send_bad("GET", "/v1/credentials/cred_00000000000000000000000000000000",
	    NULL, 404, "not_found", "cred_00000000000000000000000000000000");
}

/*
 * libmicrohttpd decodes %00 in the path, and the router matches the path
 * cut at the NUL. So POST /v1/credentials/cred_%00/rotate matches the
 * route GET /v1/credentials/{id} and returns 405. Any 4xx passes here.
 */
static void
nul_in_path(void **state)
{
	static const char *const paths[] = {"/v1/credentials/cred_%00",
	    "/v1/credentials/cred_%00/rotate", "/v1/credentials/%00",
	    "/v1/health%00/x"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		zgt_resp r;
		assert_int_equal(zgt_http(&srv, "POST", paths[i], srv.token,
		    NULL, &r), 0);
		assert_true(r.status >= 400);
		assert_true(r.status < 500);
		zgt_resp_free(&r);
		assert_int_equal(zgt_http(&srv, "GET", paths[i], srv.token,
		    NULL, &r), 0);
		assert_true(r.status < 500);
		zgt_resp_free(&r);
	}
}

static void
path_over_limit(void **state)
{
	char path[2048];
	size_t n = (size_t)snprintf(path, sizeof(path), "/v1/credentials/");
	memset(path + n, 'a', 1500);
	path[n + 1500] = '\0';
	send_bad("GET", path, NULL, 404, "not_found", NULL);
}

static void
dates_not_rfc3339(void **state)
{
	static const char *const dates[] = {"2026-13-01T00:00:00Z", "tomorrow",
	    "2026-02-30T00:00:00Z", "2099-02-30T00:00:00Z",
	    "2099-01-01T25:00:00Z", "2099-01-01", ""};
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		char body[256];
		snprintf(body, sizeof(body), "{\"type\":\"api_token\","
		    "\"name\":\"date-%zu\",\"value\":\"v\",\"expiresAt\":\"%s\"}",
		    i, dates[i]);
		/* An empty string fails the length check, not the parser. */
		create_bad_str(body, 400, "invalid_argument",
		    dates[i][0] ? dates[i] : "\"expiresAt\"");
	}
}

static void
date_in_past(void **state)
{
	create_bad_str("{\"type\":\"api_token\",\"name\":\"past\",\"value\":\"v\","
	    "\"expiresAt\":\"2020-01-01T00:00:00Z\"}", 400, "invalid_argument",
	    "in the past");
}

static void
duplicate_name_per_owner(void **state)
{
	const char *body = "{\"type\":\"api_token\",\"name\":\"shared-name\","
	    "\"value\":\"v\"}";
	char token[128];
	zgt_resp r;

	assert_int_equal(zgt_http(&srv, "POST", "/v1/credentials", srv.token,
	    body, &r), 0);
	assert_int_equal(r.status, 201);
	zgt_resp_free(&r);
	send_bad("POST", "/v1/credentials", body, 409, "conflict",
	    "shared-name");

	assert_int_equal(zgt_http(&srv, "POST", "/v1/tokens", srv.token,
	    "{\"userId\":\"alice\"}", &r), 0);
	assert_int_equal(r.status, 201);
	snprintf(token, sizeof(token), "%s", zgt_str(&r, "token"));
	zgt_resp_free(&r);
	assert_int_equal(zgt_http(&srv, "POST", "/v1/credentials", token, body,
	    &r), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(zgt_str(&r, "owner"), "alice");
	zgt_resp_free(&r);
}

static void
list_limit_invalid(void **state)
{
	static const char *const limits[] = {"0", "abc", "100000", "-1", "1001",
	    "1e3", ""};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		char path[128], needle[64];
		snprintf(path, sizeof(path), "/v1/credentials?limit=%s",
		    limits[i]);
		snprintf(needle, sizeof(needle), "got \"%s\"", limits[i]);
		send_bad("GET", path, NULL, 400, "invalid_argument", needle);
	}
	send_bad("GET", "/v1/credentials?after=cred_zz", NULL, 400,
	    "invalid_argument", "cred_zz");
	send_bad("GET", "/v1/credentials?color=red", NULL, 400,
	    "invalid_argument", "color");
}

static void
query_unknown_on_any_route(void **state)
{
	char path[256];
	snprintf(path, sizeof(path), "/v1/credentials/%.63s?version=1", keeper_id);
	send_bad("GET", path, NULL, 400, "invalid_argument", "\"version\"");
	snprintf(path, sizeof(path), "/v1/credentials/%.63s/rotate?force=1",
	    keeper_id);
	send_bad("POST", path, "{}", 400, "invalid_argument", "force");
	send_bad("GET", "/v1/audit/events?color=red", NULL, 400,
	    "invalid_argument", "from,limit,userId,resource");
}

static void
version_invalid(void **state)
{
	static const char *const versions[] = {"-1", "abc", "0", "4294967296"};
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		char path[256], needle[64];
		snprintf(path, sizeof(path), "/v1/credentials/%s/value?version=%s",
		    keeper_id, versions[i]);
		snprintf(needle, sizeof(needle), "got \"%s\"", versions[i]);
		send_bad("GET", path, NULL, 400, "invalid_argument", needle);
	}
}

static void
lease_ttl_out_of_range(void **state)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/credentials/%s/lease", keeper_id);
	send_bad("POST", path, "{\"ttlSeconds\":0}", 400, "invalid_argument",
	    "\"ttlSeconds\"");
	send_bad("POST", path, "{\"ttlSeconds\":86401}", 400,
	    "invalid_argument", "86401");
	send_bad("POST", path, "{}", 400, "invalid_argument", "\"ttlSeconds\"");
}

static void
lease_token_malformed(void **state)
{
	send_bad("POST", "/v1/leases/redeem", "{\"leaseToken\":\"zgl_short\"}",
	    400, "invalid_argument", "\"leaseToken\"");
	send_bad("POST", "/v1/leases/redeem", "{\"leaseToken\":\"zgt_0000000000"
	    "000000000000000000000000000000000000000000000000000000\"}", 400,
	    "invalid_argument", "\"leaseToken\"");
}

static void
lease_token_unknown(void **state)
{
	char body[128], hex[65];
	unsigned rs = seed ^ 0x1ea5e;
	random_hex(&rs, hex, 64);
	snprintf(body, sizeof(body), "{\"leaseToken\":\"zgl_%s\"}", hex);
	send_bad("POST", "/v1/leases/redeem", body, 404, "not_found", "lease");
}

static void
auth_missing(void **state)
{
	zgt_resp r;
	assert_int_equal(zgt_http_authz(&srv, "GET", "/v1/credentials", NULL,
	    NULL, &r), 0);
	check_error(&r, 401, "unauthenticated", "Authorization");
	zgt_resp_free(&r);
}

static void
auth_wrong_scheme(void **state)
{
	zgt_resp r;
	assert_int_equal(zgt_http_authz(&srv, "GET", "/v1/credentials",
	    "Basic x", NULL, &r), 0);
	check_error(&r, 401, "unauthenticated", "Bearer");
	zgt_resp_free(&r);
}

static void
auth_malformed_bearer(void **state)
{
	zgt_resp r;
	assert_int_equal(zgt_http_authz(&srv, "GET", "/v1/credentials",
	    "Bearer zgt_abc", NULL, &r), 0);
	check_error(&r, 401, "unauthenticated", "malformed");
	zgt_resp_free(&r);
	assert_int_equal(zgt_http_authz(&srv, "GET", "/v1/credentials",
	    "Bearer ", NULL, &r), 0);
	check_error(&r, 401, "unauthenticated", "malformed");
	zgt_resp_free(&r);
	/* The right length, but not hex. */
	char header[80];
	snprintf(header, sizeof(header), "Bearer zgt_%064d", 0);
	header[strlen(header) - 1] = 'g';
	assert_int_equal(zgt_http_authz(&srv, "GET", "/v1/credentials",
	    header, NULL, &r), 0);
	check_error(&r, 401, "unauthenticated", "malformed");
	zgt_resp_free(&r);
}

static void
auth_unknown_token(void **state)
{
	char header[128], hex[65];
	unsigned rs = seed ^ 0x70c3;
	zgt_resp r;

	random_hex(&rs, hex, 64);
	snprintf(header, sizeof(header), "Bearer zgt_%s", hex);
	assert_int_equal(zgt_http_authz(&srv, "GET", "/v1/credentials", header,
	    NULL, &r), 0);
	check_error(&r, 401, "unauthenticated", "unknown token");
	zgt_resp_free(&r);
}

static void
keeper_intact(void **state)
{
	char path[128];
	zgt_resp r;

	snprintf(path, sizeof(path), "/v1/credentials/%s/value", keeper_id);
	assert_int_equal(zgt_http(&srv, "GET", path, srv.token, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "value"), keeper_value);
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")),
	    1);
	zgt_resp_free(&r);

	assert_int_equal(zgt_http(&srv, "GET", "/v1/health", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "status"), "ok");
	zgt_resp_free(&r);
	assert_false(zgt_log_has_errors(&srv));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(malformed_json),
		cmocka_unit_test(empty_body),
		cmocka_unit_test(array_body),
		cmocka_unit_test(type_is_number),
		cmocka_unit_test(value_is_object),
		cmocka_unit_test(ttl_is_string),
		cmocka_unit_test(missing_type),
		cmocka_unit_test(missing_name),
		cmocka_unit_test(missing_value),
		cmocka_unit_test(unknown_type),
		cmocka_unit_test(unknown_field),
		cmocka_unit_test(body_over_limit),
		cmocka_unit_test(chunked_body_over_limit),
		cmocka_unit_test(value_over_limit),
		cmocka_unit_test(value_at_limit_accepted),
		cmocka_unit_test(empty_value),
		cmocka_unit_test(invalid_utf8),
		cmocka_unit_test(nul_escape),
		cmocka_unit_test(ids_not_ids),
		cmocka_unit_test(nul_in_path),
		cmocka_unit_test(path_over_limit),
		cmocka_unit_test(dates_not_rfc3339),
		cmocka_unit_test(date_in_past),
		cmocka_unit_test(duplicate_name_per_owner),
		cmocka_unit_test(list_limit_invalid),
		cmocka_unit_test(query_unknown_on_any_route),
		cmocka_unit_test(version_invalid),
		cmocka_unit_test(lease_ttl_out_of_range),
		cmocka_unit_test(lease_token_malformed),
		cmocka_unit_test(lease_token_unknown),
		cmocka_unit_test(auth_missing),
		cmocka_unit_test(auth_wrong_scheme),
		cmocka_unit_test(auth_malformed_bearer),
		cmocka_unit_test(auth_unknown_token),
		cmocka_unit_test(keeper_intact),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
