/*
 * The credential and token routes over HTTP, on their expected paths:
 * create, read, list, rotate, lease, revoke, expiry and per-user tokens.
 * One daemon serves every test of this file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "zgtest.h"

static zgt_daemon srv;
static unsigned seed;
static unsigned name_seq;

static int
group_setup(void **state)
{
	seed = zgt_seed("test_api_credentials");
	return zgt_daemon_start(&srv, NULL);
}

static int
group_teardown(void **state)
{
	int rc = 0;
	zgt_daemon_stop(&srv);
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

/* Writes a credential name that no other test of this run uses. */
static void
unique_name(const char *prefix, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s-%u-%u", prefix, seed, ++name_seq);
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
 * Creates an api_token credential as the holder of token and copies its id
 * into id. extra is appended inside the JSON object, e.g.
 * ",\"expiresAt\":\"...\"", or NULL.
 */
static void
create_cred(const char *token, const char *name, const char *value,
    const char *extra, char *id, size_t idsz)
{
	char body[1024];
	zgt_resp r;
	snprintf(body, sizeof(body),
	    "{\"type\":\"api_token\",\"name\":\"%s\",\"value\":\"%s\"%s}", name,
	    value, extra ? extra : "");
	assert_int_equal(zgt_http(&srv, "POST", "/v1/credentials", token,
	    body, &r), 0);
	assert_int_equal(r.status, 201);
	snprintf(id, idsz, "%s", zgt_str(&r, "id"));
	assert_int_equal(strlen(id), 37);
	zgt_resp_free(&r);
}

/* Reads the value of version (0: the current one) and checks it. */
static void
check_value(const char *token, const char *id, unsigned version,
    const char *value, long expected_version)
{
	char path[256];
	zgt_resp r;
	if (version == 0)
		snprintf(path, sizeof(path), "/v1/credentials/%s/value", id);
	else
		snprintf(path, sizeof(path), "/v1/credentials/%s/value?version=%u",
		    id, version);
	assert_int_equal(zgt_http(&srv, "GET", path, token, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	if (value != NULL)
		assert_string_equal(zgt_str(&r, "value"), value);
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")),
	    expected_version);
	zgt_resp_free(&r);
}

/* Sends a request and checks the status and, unless NULL, the error code. */
static void
check_status(const char *method, const char *path, const char *token,
    const char *body, long status, const char *code)
{
	zgt_resp r;
	assert_int_equal(zgt_http(&srv, method, path, token, body, &r), 0);
	if (r.status != status)
		fprintf(stderr, "%s %s: %ld %s\n", method, path, r.status,
		    r.body ? r.body : "");
	assert_int_equal(r.status, status);
	if (code != NULL)
		assert_string_equal(zgt_error_code(&r), code);
	assert_true(r.request_id[0] != '\0');
	zgt_resp_free(&r);
}

/* Creates an API token for user_id with the admin token. */
static void
create_token(const char *user_id, const char *extra, char *token,
    size_t tokensz, char *id, size_t idsz)
{
	char body[256];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"userId\":\"%s\"%s}", user_id,
	    extra ? extra : "");
	assert_int_equal(zgt_http(&srv, "POST", "/v1/tokens", srv.token,
	    body, &r), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(zgt_str(&r, "userId"), user_id);
	assert_true(strncmp(zgt_str(&r, "token"), "zgt_", 4) == 0);
	assert_true(strncmp(zgt_str(&r, "id"), "tok_", 4) == 0);
	snprintf(token, tokensz, "%s", zgt_str(&r, "token"));
	snprintf(id, idsz, "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void
health_needs_no_token(void **state)
{
	zgt_resp r;
	assert_int_equal(zgt_http(&srv, "GET", "/v1/health", NULL, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "status"), "ok");
	assert_true(r.request_id[0] != '\0');
	zgt_resp_free(&r);
}

static void
create_hides_value(void **state)
{
	char name[64], body[256];
	const char *value = "sk-create-hides-value-7f3a";
	zgt_resp r;

	unique_name("create", name, sizeof(name));
	snprintf(body, sizeof(body), "{\"type\":\"database_password\","
	    "\"name\":\"%s\",\"value\":\"%s\",\"metadata\":{\"env\":\"prod\"},"
	    "\"permissions\":[\"read\"]}", name, value);
	assert_int_equal(zgt_http(&srv, "POST", "/v1/credentials",
	    srv.token, body, &r), 0);
	assert_int_equal(r.status, 201);
	assert_non_null(r.body);
	assert_null(strstr(r.body, value));
	assert_null(json_object_get(r.json, "value"));
	assert_true(strncmp(zgt_str(&r, "id"), "cred_", 5) == 0);
	assert_string_equal(zgt_str(&r, "name"), name);
	assert_string_equal(zgt_str(&r, "type"), "database_password");
	assert_string_equal(zgt_str(&r, "owner"), "admin");
	assert_string_equal(zgt_str(&r, "status"), "active");
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")),
	    1);
	assert_true(json_is_null(json_object_get(r.json, "expiresAt")));
	assert_true(json_is_null(json_object_get(r.json, "revokedAt")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    r.json, "metadata"), "env")), "prod");
	assert_true(r.request_id[0] != '\0');
	zgt_resp_free(&r);
}

static void
get_returns_metadata(void **state)
{
	char name[64], id[64], path[128];
	zgt_resp r;

	unique_name("get", name, sizeof(name));
	create_cred(srv.token, name, "get-secret-value", NULL, id,
	    sizeof(id));
	snprintf(path, sizeof(path), "/v1/credentials/%s", id);
	assert_int_equal(zgt_http(&srv, "GET", path, srv.token, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "id"), id);
	assert_string_equal(zgt_str(&r, "name"), name);
	assert_string_equal(zgt_str(&r, "type"), "api_token");
	assert_string_equal(zgt_str(&r, "status"), "active");
	assert_true(zgt_str(&r, "createdAt")[0] != '\0');
	assert_true(zgt_str(&r, "updatedAt")[0] != '\0');
	assert_null(strstr(r.body, "get-secret-value"));
	assert_true(r.request_id[0] != '\0');
	zgt_resp_free(&r);
}

static void
list_paginates(void **state)
{
	enum { NCREDS = 5 };
	char ids[NCREDS][64], name[64], path[256];
	bool seen[NCREDS] = {false};
	char after[64] = "";
	size_t pages = 0;

	for (int i = 0; i < NCREDS; i++) {
		unique_name("list", name, sizeof(name));
		create_cred(srv.token, name, "list-value", NULL, ids[i],
		    sizeof(ids[i]));
	}
	for (;;) {
		zgt_resp r;
		if (after[0] == '\0')
			snprintf(path, sizeof(path), "/v1/credentials?limit=2");
		else
			snprintf(path, sizeof(path),
			    "/v1/credentials?limit=2&after=%s", after);
		assert_int_equal(zgt_http(&srv, "GET", path, srv.token,
		    NULL, &r), 0);
		assert_int_equal(r.status, 200);
		json_t *items = json_object_get(r.json, "items");
		assert_true(json_is_array(items));
		assert_true(json_array_size(items) <= 2);
		size_t i;
		json_t *item;
		json_array_foreach(items, i, item) {
			const char *id = json_string_value(json_object_get(item,
			    "id"));
			assert_non_null(id);
			assert_null(json_object_get(item, "value"));
			for (int k = 0; k < NCREDS; k++) {
				if (strcmp(id, ids[k]) == 0) {
					assert_false(seen[k]);
					seen[k] = true;
				}
			}
		}
		json_t *next = json_object_get(r.json, "next");
		pages++;
		assert_true(pages < 1000);
		if (json_is_null(next)) {
			zgt_resp_free(&r);
			break;
		}
		assert_true(json_is_string(next));
		snprintf(after, sizeof(after), "%s", json_string_value(next));
		zgt_resp_free(&r);
	}
	assert_true(pages >= 3);
	for (int k = 0; k < NCREDS; k++)
		assert_true(seen[k]);
}

static void
value_read(void **state)
{
	char name[64], id[64];
	unique_name("value", name, sizeof(name));
	create_cred(srv.token, name, "value-read-secret", NULL, id,
	    sizeof(id));
	check_value(srv.token, id, 0, "value-read-secret", 1);
	check_value(srv.token, id, 1, "value-read-secret", 1);
}

static void
rotate_keeps_versions(void **state)
{
	char name[64], id[64], path[256];
	zgt_resp r;

	unique_name("rotate", name, sizeof(name));
	create_cred(srv.token, name, "version-one", NULL, id, sizeof(id));

	snprintf(path, sizeof(path), "/v1/credentials/%s/rotate", id);
	assert_int_equal(zgt_http(&srv, "POST", path, srv.token,
	    "{\"value\":\"version-two\"}", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")),
	    2);
	assert_null(strstr(r.body, "version-two"));
	zgt_resp_free(&r);

	/* Without a value the server generates 64 hex digits. */
	assert_int_equal(zgt_http(&srv, "POST", path, srv.token, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")),
	    3);
	zgt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/credentials/%s/value", id);
	assert_int_equal(zgt_http(&srv, "GET", path, srv.token, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	const char *generated = zgt_str(&r, "value");
	assert_int_equal(strlen(generated), 64);
	assert_int_equal(strspn(generated, "0123456789abcdef"), 64);
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")),
	    3);
	zgt_resp_free(&r);

	check_value(srv.token, id, 1, "version-one", 1);
	check_value(srv.token, id, 2, "version-two", 2);
	check_value(srv.token, id, 3, NULL, 3);

	snprintf(path, sizeof(path), "/v1/credentials/%s/value?version=4", id);
	check_status("GET", path, srv.token, NULL, 404, "not_found");
}

static void
lease_redeems_once(void **state)
{
	char name[64], id[64], path[256], redeem[256], lease[128];
	zgt_resp r;

	unique_name("lease", name, sizeof(name));
	create_cred(srv.token, name, "leased-secret", NULL, id, sizeof(id));
	snprintf(path, sizeof(path), "/v1/credentials/%s/lease", id);
	assert_int_equal(zgt_http(&srv, "POST", path, srv.token,
	    "{\"ttlSeconds\":60}", &r), 0);
	assert_int_equal(r.status, 201);
	assert_true(strncmp(zgt_str(&r, "leaseToken"), "zgl_", 4) == 0);
	assert_string_equal(zgt_str(&r, "credentialId"), id);
	assert_true(zgt_str(&r, "expiresAt")[0] != '\0');
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")),
	    1);
	assert_null(strstr(r.body, "leased-secret"));
	snprintf(lease, sizeof(lease), "%s", zgt_str(&r, "leaseToken"));
	zgt_resp_free(&r);

	snprintf(redeem, sizeof(redeem), "{\"leaseToken\":\"%s\"}", lease);
	assert_int_equal(zgt_http(&srv, "POST", "/v1/leases/redeem",
	    srv.token, redeem, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "value"), "leased-secret");
	assert_string_equal(zgt_str(&r, "credentialId"), id);
	assert_int_equal(json_integer_value(json_object_get(r.json, "version")),
	    1);
	zgt_resp_free(&r);

	check_status("POST", "/v1/leases/redeem", srv.token, redeem, 410,
	    "gone");
}

static void
revoke_blocks_value(void **state)
{
	char name[64], id[64], path[256];
	zgt_resp r;

	unique_name("revoke", name, sizeof(name));
	create_cred(srv.token, name, "revoked-secret", NULL, id, sizeof(id));
	snprintf(path, sizeof(path), "/v1/credentials/%s/revoke", id);
	assert_int_equal(zgt_http(&srv, "POST", path, srv.token, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "status"), "revoked");
	assert_true(zgt_str(&r, "revokedAt")[0] != '\0');
	zgt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/credentials/%s/value", id);
	check_status("GET", path, srv.token, NULL, 410, "revoked");
	snprintf(path, sizeof(path), "/v1/credentials/%s/value?version=1", id);
	check_status("GET", path, srv.token, NULL, 410, "revoked");
	snprintf(path, sizeof(path), "/v1/credentials/%s/lease", id);
	check_status("POST", path, srv.token, "{\"ttlSeconds\":60}", 410,
	    "revoked");

	snprintf(path, sizeof(path), "/v1/credentials/%s", id);
	assert_int_equal(zgt_http(&srv, "GET", path, srv.token, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "status"), "revoked");
	zgt_resp_free(&r);
}

static void
expiry_blocks_value(void **state)
{
	char name[64], id[64], path[256], when[40], extra[80];
	zgt_resp r;

	/* Whole seconds, so the expiry is 2 to 3 seconds ahead. */
	time_t expires = time(NULL) + 3;
	rfc3339(expires, when, sizeof(when));
	snprintf(extra, sizeof(extra), ",\"expiresAt\":\"%s\"", when);
	unique_name("expiry", name, sizeof(name));
	create_cred(srv.token, name, "expiring-secret", extra, id,
	    sizeof(id));
	check_value(srv.token, id, 0, "expiring-secret", 1);

	while (time(NULL) <= expires)
		sleep_ms(200);
	snprintf(path, sizeof(path), "/v1/credentials/%s/value", id);
	check_status("GET", path, srv.token, NULL, 410, "expired");

	snprintf(path, sizeof(path), "/v1/credentials/%s", id);
	assert_int_equal(zgt_http(&srv, "GET", path, srv.token, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "status"), "expired");
	assert_string_equal(zgt_str(&r, "expiresAt"), when);
	zgt_resp_free(&r);
}

static void
token_user_isolation(void **state)
{
	char user[64], token[128], tok_id[64], name[64];
	char own_id[64], admin_id[64], path[256];
	zgt_resp r;

	snprintf(user, sizeof(user), "alice-%u", seed);
	create_token(user, NULL, token, sizeof(token), tok_id, sizeof(tok_id));

	unique_name("admin-only", name, sizeof(name));
	create_cred(srv.token, name, "admin-secret", NULL, admin_id,
	    sizeof(admin_id));
	unique_name("alice", name, sizeof(name));
	create_cred(token, name, "alice-secret", NULL, own_id, sizeof(own_id));
	check_value(token, own_id, 0, "alice-secret", 1);

	snprintf(path, sizeof(path), "/v1/credentials/%s", own_id);
	assert_int_equal(zgt_http(&srv, "GET", path, token, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "owner"), user);
	zgt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/credentials/%s", admin_id);
	check_status("GET", path, token, NULL, 404, "not_found");
	snprintf(path, sizeof(path), "/v1/credentials/%s/value", admin_id);
	check_status("GET", path, token, NULL, 404, "not_found");

	assert_int_equal(zgt_http(&srv, "GET", "/v1/credentials?limit=1000",
	    token, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	json_t *items = json_object_get(r.json, "items");
	size_t i;
	json_t *item;
	bool own_seen = false;
	json_array_foreach(items, i, item) {
		const char *id = json_string_value(json_object_get(item, "id"));
		const char *owner = json_string_value(json_object_get(item,
		    "owner"));
		assert_string_not_equal(id, admin_id);
		assert_string_equal(owner, user);
		if (strcmp(id, own_id) == 0)
			own_seen = true;
	}
	assert_true(own_seen);
	zgt_resp_free(&r);
}

/* A member may make tokens for itself, not for anyone else, and may not
 * touch the vault's keys. */
static void
token_user_not_admin(void **state)
{
	char user[64], token[128], tok_id[64], body[128];

	snprintf(user, sizeof(user), "bob-%u", seed);
	create_token(user, NULL, token, sizeof(token), tok_id, sizeof(tok_id));
	snprintf(body, sizeof(body), "{\"userId\":\"%s\"}", user);
	check_status("POST", "/v1/tokens", token, body, 201, NULL);
	snprintf(body, sizeof(body), "{\"userId\":\"other-%u\"}", seed);
	check_status("POST", "/v1/tokens", token, body, 403, "forbidden");
	check_status("POST", "/v1/sys/rotate-root", token, "{}", 403,
	    "forbidden");
}

static void
token_revoke_rejects(void **state)
{
	char user[64], token[128], tok_id[64], path[128];
	zgt_resp r;

	snprintf(user, sizeof(user), "carol-%u", seed);
	create_token(user, NULL, token, sizeof(token), tok_id, sizeof(tok_id));
	check_status("GET", "/v1/credentials", token, NULL, 200, NULL);

	snprintf(path, sizeof(path), "/v1/tokens/%s", tok_id);
	assert_int_equal(zgt_http(&srv, "DELETE", path, srv.token, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "id"), tok_id);
	assert_true(json_is_true(json_object_get(r.json, "revoked")));
	zgt_resp_free(&r);

	check_status("GET", "/v1/credentials", token, NULL, 401,
	    "unauthenticated");
}

static void
token_ttl_expires(void **state)
{
	char user[64], token[128], tok_id[64];

	snprintf(user, sizeof(user), "dave-%u", seed);
	create_token(user, ",\"ttlSeconds\":1", token, sizeof(token), tok_id,
	    sizeof(tok_id));
	sleep_ms(2000);
	check_status("GET", "/v1/credentials", token, NULL, 401,
	    "unauthenticated");
}

static void
unknown_route_404(void **state)
{
	check_status("GET", "/v1/nothing-here", srv.token, NULL, 404,
	    "not_found");
	check_status("GET", "/v2/credentials", NULL, NULL, 404, "not_found");
}

static void
wrong_method_405(void **state)
{
	check_status("DELETE", "/v1/credentials", srv.token, NULL, 405,
	    "method_not_allowed");
	check_status("PUT", "/v1/health", NULL, NULL, 405,
	    "method_not_allowed");
	check_status("GET", "/v1/leases/redeem", srv.token, NULL, 405,
	    "method_not_allowed");
}

static void
request_id_everywhere(void **state)
{
	char name[64], body[256];
	unique_name("request-id", name, sizeof(name));
	snprintf(body, sizeof(body),
	    "{\"type\":\"api_token\",\"name\":\"%s\",\"value\":\"x\"}", name);

	/* check_status checks the X-Request-Id header of each. */
	check_status("GET", "/v1/health", NULL, NULL, 200, NULL);
	check_status("GET", "/v1/sys/seal-status", NULL, NULL, 200, NULL);
	check_status("POST", "/v1/credentials", srv.token, body, 201, NULL);
	check_status("POST", "/v1/credentials", srv.token, "{", 400,
	    "invalid_json");
	check_status("GET", "/v1/credentials", NULL, NULL, 401,
	    "unauthenticated");
	check_status("GET", "/v1/nothing-here", NULL, NULL, 404, "not_found");
	check_status("DELETE", "/v1/health", NULL, NULL, 405,
	    "method_not_allowed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(health_needs_no_token),
		cmocka_unit_test(create_hides_value),
		cmocka_unit_test(get_returns_metadata),
		cmocka_unit_test(list_paginates),
		cmocka_unit_test(value_read),
		cmocka_unit_test(rotate_keeps_versions),
		cmocka_unit_test(lease_redeems_once),
		cmocka_unit_test(revoke_blocks_value),
		cmocka_unit_test(expiry_blocks_value),
		cmocka_unit_test(token_user_isolation),
		cmocka_unit_test(token_user_not_admin),
		cmocka_unit_test(token_revoke_rejects),
		cmocka_unit_test(token_ttl_expires),
		cmocka_unit_test(unknown_route_404),
		cmocka_unit_test(wrong_method_405),
		cmocka_unit_test(request_id_everywhere),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
