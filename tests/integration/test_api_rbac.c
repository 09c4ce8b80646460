/*
 * Roles, grants and decisions over HTTP. The tests cover role CRUD,
 * built-in roles, inheritance, deny over allow and grant expiry. Every
 * condition type is checked through POST /v1/authz/check. Then come
 * enforcement on real routes, scoped tokens, service accounts, the audit
 * events of denials, and bad input that must leave the stored roles
 * unchanged. One daemon serves every test of this file.
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

static zgt_daemon srv;

static int
group_setup(void **state)
{
	zgt_seed("test_api_rbac");
	/* The few 401s here must not lock 127.0.0.1 out. */
	return zgt_daemon_start(&srv, "[lockout]\nthreshold = 1000\n");
}

static int
group_teardown(void **state)
{
	int rc = 0;
	zgt_daemon_stop(&srv);
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

/* Sends a request and checks its status. The caller frees *r. */
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

/* Like http, and checks that the error message contains needle. */
static void
expect_error(const char *method, const char *path, const char *token,
    const char *body, long status, const char *needle)
{
	zgt_resp r;
	http(method, path, token, body, status, &r);
	const char *msg = json_string_value(json_object_get(json_object_get(
	    r.json, "error"), "message"));
	assert_non_null(msg);
	if (strstr(msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
	zgt_resp_free(&r);
}

static void
expect_status(const char *method, const char *path, const char *token,
    const char *body, long status)
{
	zgt_resp r;
	http(method, path, token, body, status, &r);
	zgt_resp_free(&r);
}

/* Creates a token for user_id. extra is appended inside the body. */
static void
make_token(const char *user_id, const char *extra, char *out, size_t outsz)
{
	char body[1024];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"userId\":\"%s\"%s}", user_id,
	    extra ? extra : "");
	http("POST", "/v1/tokens", srv.token, body, 201, &r);
	snprintf(out, outsz, "%s", zgt_str(&r, "token"));
	zgt_resp_free(&r);
}

static void
make_role(const char *json)
{
	expect_status("POST", "/v1/roles", srv.token, json, 201);
}

/* Grants role_id to user_id as the holder of token. */
static void
grant(const char *token, const char *user_id, const char *role_id)
{
	char path[256], body[256];
	snprintf(path, sizeof(path), "/v1/users/%s/roles", user_id);
	snprintf(body, sizeof(body), "{\"roleId\":\"%s\"}", role_id);
	expect_status("POST", path, token, body, 201);
}

/* Sends POST /v1/authz/check with context, a JSON object or NULL. The
 * caller frees *r. */
static void
check_raw(const char *user, const char *resource, const char *action,
    const char *context, zgt_resp *r)
{
	char body[1024];
	snprintf(body, sizeof(body), "{\"userId\":\"%s\",\"resource\":\"%s\","
	    "\"action\":\"%s\",\"context\":%s}", user, resource, action,
	    context ? context : "{}");
	http("POST", "/v1/authz/check", srv.token, body, 200, r);
	assert_true(json_is_boolean(json_object_get(r->json, "allowed")));
}

static bool
allowed(const char *user, const char *resource, const char *action,
    const char *context)
{
	zgt_resp r;
	check_raw(user, resource, action, context, &r);
	bool yes = json_is_true(json_object_get(r.json, "allowed"));
	zgt_resp_free(&r);
	return yes;
}

/* Creates role name with one read permission on resource under cond,
 * and grants it to the user of the same name. */
static void
cond_role(const char *name, const char *resource, const char *cond)
{
	char body[1024];
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"permissions\":[{"
	    "\"resource\":\"%s\",\"actions\":[\"read\"],\"conditions\":[%s]}]}",
	    name, resource, cond);
	make_role(body);
	grant(srv.token, name, name);
}

/* Returns GET /v1/roles as JSON, for comparing the stored roles. */
static json_t *
all_roles(void)
{
	zgt_resp r;
	http("GET", "/v1/roles", srv.token, NULL, 200, &r);
	json_t *items = json_incref(json_object_get(r.json, "items"));
	assert_true(json_is_array(items));
	zgt_resp_free(&r);
	return items;
}

/* Sends a bad role write and checks the 400 or 403, the message, and
 * that no stored role changed. */
static void
expect_rejected_write(const char *method, const char *path,
    const char *body, long status, const char *needle)
{
	json_t *before = all_roles();
	expect_error(method, path, srv.token, body, status, needle);
	json_t *after = all_roles();
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
}

/* Returns the audit event (a new reference) of request rid, or NULL. */
static json_t *
audit_event(const char *rid)
{
	uint64_t from = 0;
	for (;;) {
		char path[128];
		zgt_resp r;
		snprintf(path, sizeof(path), "/v1/audit/events?from=%llu&"
		    "limit=1000", (unsigned long long)from);
		http("GET", path, srv.token, NULL, 200, &r);
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(r.json, "events"), i, item) {
			json_t *ev = json_object_get(item, "event");
			const char *id = json_string_value(json_object_get(ev,
			    "requestId"));
			if (id != NULL && strcmp(id, rid) == 0) {
				json_incref(ev);
				zgt_resp_free(&r);
				return ev;
			}
		}
		json_t *next = json_object_get(r.json, "next");
		bool more = json_is_integer(next);
		if (more)
			from = (uint64_t)json_integer_value(next);
		zgt_resp_free(&r);
		if (!more)
			return NULL;
	}
}

/* Checks that request rid left a failed "authorization" event. */
static void
expect_denial_event(const char *rid, const char *user_id)
{
	json_t *ev = audit_event(rid);
	if (ev == NULL)
		fail_msg("no audit event for request %s", rid);
	const char *type = json_string_value(json_object_get(ev, "eventType"));
	if (type == NULL || strcmp(type, "authorization") != 0)
		fail_msg("request %s: event type \"%s\", expected "
		    "\"authorization\"", rid, type ? type : "(none)");
	assert_true(json_is_false(json_object_get(ev, "success")));
	assert_string_equal(json_string_value(json_object_get(ev, "userId")),
	    user_id);
	json_decref(ev);
}

/* Writes the RFC 3339 UTC time of the Unix time t. */
static void
rfc3339(time_t t, char *out, size_t outsz)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
sleep_s(unsigned s)
{
	struct timespec ts = {s, 0};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void
role_crud_round_trip(void **state)
{
	zgt_resp r;
	make_role("{\"name\":\"crud\",\"description\":\"first\","
	    "\"permissions\":[{\"resource\":\"widgets/*\",\"actions\":"
	    "[\"read\"]}]}");
	http("GET", "/v1/roles/crud", srv.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "description"), "first");
	assert_true(json_is_false(json_object_get(r.json, "builtIn")));
	assert_int_equal(json_array_size(json_object_get(r.json,
	    "permissions")), 1);
	zgt_resp_free(&r);

	http("PUT", "/v1/roles/crud", srv.token, "{\"description\":\"second\","
	    "\"permissions\":[{\"resource\":\"widgets/**\",\"actions\":"
	    "[\"read\",\"update\"]}]}", 200, &r);
	zgt_resp_free(&r);
	http("GET", "/v1/roles/crud", srv.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "description"), "second");
	json_t *perm = json_array_get(json_object_get(r.json, "permissions"), 0);
	assert_string_equal(json_string_value(json_object_get(perm,
	    "resource")), "widgets/**");
	zgt_resp_free(&r);

	expect_status("DELETE", "/v1/roles/crud", srv.token, NULL, 200);
	expect_status("GET", "/v1/roles/crud", srv.token, NULL, 404);
	expect_error("POST", "/v1/roles", srv.token, "{\"name\":\"viewer\"}",
	    409, "viewer");
}

static void
builtin_extend_not_delete(void **state)
{
	zgt_resp r;
	http("PUT", "/v1/roles/viewer", srv.token, "{\"permissions\":["
	    "{\"resource\":\"workflows\",\"actions\":[\"read\"]},"
	    "{\"resource\":\"workflows/*\",\"actions\":[\"read\"]},"
	    "{\"resource\":\"workflows/*/executions/**\",\"actions\":[\"read\"]},"
	    "{\"resource\":\"reports/*\",\"actions\":[\"read\"]}]}", 200, &r);
	assert_true(json_is_true(json_object_get(r.json, "builtIn")));
	zgt_resp_free(&r);
	grant(srv.token, "vera", "viewer");
	assert_true(allowed("vera", "reports/q1", "read", NULL));
	assert_true(allowed("vera", "workflows/7", "read", NULL));

	expect_rejected_write("PUT", "/v1/roles/viewer", "{\"permissions\":["
	    "{\"resource\":\"workflows\",\"actions\":[\"read\"]}]}", 403,
	    "workflows/*");
	expect_rejected_write("DELETE", "/v1/roles/viewer", NULL, 403,
	    "viewer");
	expect_rejected_write("DELETE", "/v1/roles/admin", NULL, 403, "admin");
	expect_rejected_write("DELETE", "/v1/roles/workflow_manager", NULL, 403,
	    "workflow_manager");
}

static void
delete_inherited_role_409(void **state)
{
	make_role("{\"name\":\"parent-a\"}");
	make_role("{\"name\":\"child-a\",\"inherits\":[\"parent-a\"]}");
	expect_rejected_write("DELETE", "/v1/roles/parent-a", NULL, 409,
	    "child-a");
	expect_status("DELETE", "/v1/roles/child-a", srv.token, NULL, 200);
	expect_status("DELETE", "/v1/roles/parent-a", srv.token, NULL, 200);
}

/* Creates the role that may grant viewer but nothing else, held by carol. */
static void
make_granter(char *token, size_t tokensz)
{
	zgt_resp r;
	assert_int_equal(zgt_http(&srv, "GET", "/v1/roles/granter", srv.token,
	    NULL, &r), 0);
	long status = r.status;
	zgt_resp_free(&r);
	if (status == 404) {
		make_role("{\"name\":\"granter\",\"permissions\":["
		    "{\"resource\":\"users/*/roles\",\"actions\":[\"grant\","
		    "\"list\"]},"
		    "{\"resource\":\"roles/viewer\",\"actions\":[\"grant\"]}]}");
		grant(srv.token, "carol", "granter");
	}
	make_token("carol", NULL, token, tokensz);
}

static void
grant_by_is_caller(void **state)
{
	char carol[128];
	zgt_resp r;
	make_granter(carol, sizeof(carol));
	http("POST", "/v1/users/dave/roles", carol, "{\"roleId\":\"viewer\"}",
	    201, &r);
	assert_string_equal(zgt_str(&r, "grantedBy"), "carol");
	assert_string_equal(zgt_str(&r, "userId"), "dave");
	zgt_resp_free(&r);
	http("GET", "/v1/users/dave/roles", srv.token, NULL, 200, &r);
	json_t *item = json_array_get(json_object_get(r.json, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(item,
	    "grantedBy")), "carol");
	zgt_resp_free(&r);
	expect_error("POST", "/v1/users/dave/roles", carol,
	    "{\"roleId\":\"viewer\",\"grantedBy\":\"admin\"}", 400, "grantedBy");
}

static void
grant_without_right_403(void **state)
{
	char carol[128], body[64];
	zgt_resp r;
	make_granter(carol, sizeof(carol));
	const char *roles[] = {"admin", "workflow_manager", "granter"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "{\"roleId\":\"%s\"}", roles[i]);
		expect_error("POST", "/v1/users/eve/roles", carol, body, 403,
		    roles[i]);
	}
	http("GET", "/v1/users/eve/roles", srv.token, NULL, 200, &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
	zgt_resp_free(&r);
	assert_false(allowed("eve", "sys/keys", "rotate_root", NULL));
}

static void
grant_expiry_flips(void **state)
{
	char path[] = "/v1/users/tess/roles", body[128], at[40];
	zgt_resp r;
	make_role("{\"name\":\"temp-reader\",\"permissions\":[{\"resource\":"
	    "\"ledgers/*\",\"actions\":[\"read\"]}]}");
	/* Five seconds leave room for the grant and the first check on a
	 * loaded machine. */
	rfc3339(time(NULL) + 5, at, sizeof(at));
	snprintf(body, sizeof(body), "{\"roleId\":\"temp-reader\","
	    "\"expiresAt\":\"%s\"}", at);
	expect_status("POST", path, srv.token, body, 201);
	assert_true(allowed("tess", "ledgers/1", "read", NULL));
	sleep_s(6);
	assert_false(allowed("tess", "ledgers/1", "read", NULL));
	http("GET", path, srv.token, NULL, 200, &r);
	json_t *item = json_array_get(json_object_get(r.json, "items"), 0);
	assert_true(json_is_true(json_object_get(item, "expired")));
	zgt_resp_free(&r);

	rfc3339(time(NULL) - 60, at, sizeof(at));
	snprintf(body, sizeof(body), "{\"roleId\":\"temp-reader\","
	    "\"expiresAt\":\"%s\"}", at);
	expect_error("POST", path, srv.token, body, 400, "expiresAt");
}

static void
inheritance_is_transitive(void **state)
{
	zgt_resp r;
	make_role("{\"name\":\"base-r\",\"permissions\":[{\"resource\":"
	    "\"gadgets/*\",\"actions\":[\"read\"]}]}");
	make_role("{\"name\":\"mid-r\",\"inherits\":[\"base-r\"]}");
	make_role("{\"name\":\"top-r\",\"inherits\":[\"mid-r\"]}");
	grant(srv.token, "ian", "top-r");
	check_raw("ian", "gadgets/9", "read", NULL, &r);
	assert_true(json_is_true(json_object_get(r.json, "allowed")));
	assert_string_equal(zgt_str(&r, "matchedRole"), "base-r");
	zgt_resp_free(&r);
	assert_false(allowed("ian", "gadgets/9", "delete", NULL));
	assert_false(allowed("ian", "gadgets/9/parts", "read", NULL));
}

static void
deny_overrides_allow(void **state)
{
	zgt_resp r;
	make_role("{\"name\":\"mixed\",\"permissions\":["
	    "{\"resource\":\"vaults/**\",\"actions\":[\"*\"]},"
	    "{\"resource\":\"vaults/secret/**\",\"actions\":[\"read\"],"
	    "\"effect\":\"deny\"}]}");
	make_role("{\"name\":\"secret-reader\",\"permissions\":[{\"resource\":"
	    "\"vaults/secret/x\",\"actions\":[\"read\"]}]}");
	grant(srv.token, "dana", "mixed");
	grant(srv.token, "dana", "secret-reader");
	check_raw("dana", "vaults/secret/x", "read", NULL, &r);
	assert_true(json_is_false(json_object_get(r.json, "allowed")));
	assert_non_null(strstr(zgt_str(&r, "reason"), "deny"));
	assert_string_equal(zgt_str(&r, "matchedRole"), "mixed");
	zgt_resp_free(&r);
	assert_true(allowed("dana", "vaults/open/x", "read", NULL));
	assert_true(allowed("dana", "vaults/secret/x", "update", NULL));
	assert_false(allowed("nobody", "vaults/open/x", "read", NULL));
}

/*
 * The window is three hours around now in Asia/Tokyo (UTC+9). In
 * Asia/Kolkata (UTC+5:30) the same window starts 3.5 hours later in
 * absolute time, so now falls outside it. Neither zone has had daylight
 * saving time since 1951 (Tokyo) and 1945 (Kolkata), as zdump shows.
 */
static void
cond_time_zone(void **state)
{
	static const char *const days[] = {"sun", "mon", "tue", "wed", "thu",
	    "fri", "sat"};
	char cond[256], tokyo[300], kolkata[300];
	time_t local = time(NULL) + 9 * 3600;
	struct tm tm;
	gmtime_r(&local, &tm);
	snprintf(cond, sizeof(cond), "\"type\":\"time\",\"days\":[\"%s\"],"
	    "\"hours\":{\"from\":\"%02d:00\",\"to\":\"%02d:00\"}",
	    days[tm.tm_wday], (tm.tm_hour + 23) % 24, (tm.tm_hour + 2) % 24);
	snprintf(tokyo, sizeof(tokyo), "{%s,\"timezone\":\"Asia/Tokyo\"}", cond);
	snprintf(kolkata, sizeof(kolkata), "{%s,\"timezone\":"
	    "\"Asia/Kolkata\"}", cond);
	cond_role("tz-tokyo", "shifts/*", tokyo);
	cond_role("tz-kolkata", "shifts/*", kolkata);
	assert_true(allowed("tz-tokyo", "shifts/1", "read", NULL));
	assert_false(allowed("tz-kolkata", "shifts/1", "read", NULL));
}

static void
cond_ip_cidr(void **state)
{
	cond_role("net-r", "routers/*", "{\"type\":\"ip\",\"cidrs\":"
	    "[\"192.0.2.0/24\",\"2001:db8::/32\"]}");
	assert_true(allowed("net-r", "routers/1", "read",
	    "{\"ip\":\"192.0.2.77\"}"));
	assert_false(allowed("net-r", "routers/1", "read",
	    "{\"ip\":\"198.51.100.7\"}"));
	assert_true(allowed("net-r", "routers/1", "read",
	    "{\"ip\":\"2001:db8:7::1\"}"));
	assert_false(allowed("net-r", "routers/1", "read",
	    "{\"ip\":\"2001:db9::1\"}"));
	assert_true(allowed("net-r", "routers/1", "read",
	    "{\"ip\":\"::ffff:192.0.2.9\"}"));
	assert_false(allowed("net-r", "routers/1", "read", NULL));
}

static void
cond_auth_mfa(void **state)
{
	cond_role("mfa-r", "payroll/*", "{\"type\":\"auth\",\"methods\":"
	    "[\"oidc\",\"magic\"],\"mfa\":true}");
	assert_true(allowed("mfa-r", "payroll/1", "read",
	    "{\"authMethod\":\"oidc\",\"mfa\":true}"));
	assert_true(allowed("mfa-r", "payroll/1", "read",
	    "{\"authMethod\":\"magic\",\"mfa\":true}"));
	assert_false(allowed("mfa-r", "payroll/1", "read",
	    "{\"authMethod\":\"oidc\",\"mfa\":false}"));
	assert_false(allowed("mfa-r", "payroll/1", "read",
	    "{\"authMethod\":\"token\",\"mfa\":true}"));
	assert_false(allowed("mfa-r", "payroll/1", "read", NULL));
}

static void
cond_owner_is_subject(void **state)
{
	cond_role("owner-r", "notes/*", "\"resource.ownerId == subject.id\"");
	assert_true(allowed("owner-r", "notes/1", "read",
	    "{\"ownerId\":\"owner-r\"}"));
	assert_false(allowed("owner-r", "notes/1", "read",
	    "{\"ownerId\":\"someone-else\"}"));
	assert_false(allowed("owner-r", "notes/1", "read", NULL));
}

static void
cond_amount_limit(void **state)
{
	cond_role("pay-r", "payments/*", "\"request.amount <= 1000\"");
	assert_true(allowed("pay-r", "payments/1", "read",
	    "{\"amount\":1000}"));
	assert_true(allowed("pay-r", "payments/1", "read",
	    "{\"amount\":\"0999\"}"));
	assert_false(allowed("pay-r", "payments/1", "read",
	    "{\"amount\":1001}"));
	assert_false(allowed("pay-r", "payments/1", "read",
	    "{\"amount\":\"100000000000000000000000000\"}"));
	assert_false(allowed("pay-r", "payments/1", "read",
	    "{\"amount\":\"1e3\"}"));
	assert_false(allowed("pay-r", "payments/1", "read", NULL));
}

static void
no_role_forbidden_roles(void **state)
{
	char tok[128];
	zgt_resp r;
	make_token("frank", NULL, tok, sizeof(tok));
	http("GET", "/v1/roles", tok, NULL, 403, &r);
	assert_string_equal(zgt_error_code(&r), "forbidden");
	char rid[64];
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	zgt_resp_free(&r);
	expect_denial_event(rid, "frank");
	expect_status("POST", "/v1/roles", tok, "{\"name\":\"mine\"}", 403);
	expect_status("GET", "/v1/roles/missing-role", srv.token, NULL, 404);
}

static void
viewer_not_for_others(void **state)
{
	char tok[128], path[160], key_id[64];
	zgt_resp r;
	grant(srv.token, "gina", "viewer");
	make_token("gina", NULL, tok, sizeof(tok));
	expect_error("POST", "/v1/tokens", tok, "{\"userId\":\"hank\"}", 403,
	    "hank");
	expect_error("POST", "/v1/keys", tok, "{\"algorithm\":\"secp256k1\","
	    "\"owner\":\"hank\"}", 400, "owner");

	http("POST", "/v1/keys", srv.token, "{\"algorithm\":\"secp256k1\"}",
	    201, &r);
	snprintf(key_id, sizeof(key_id), "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/keys/%s", key_id);
	expect_status("GET", path, tok, NULL, 404);
	snprintf(path, sizeof(path), "/v1/keys/%s/sign-message", key_id);
	expect_status("POST", path, tok, "{\"message\":\"hi\"}", 404);
	snprintf(path, sizeof(path), "/v1/keys/%s/disable", key_id);
	expect_status("POST", path, tok, NULL, 404);
}

/* Creates a credential as the holder of token and writes its id. */
static void
make_cred(const char *token, const char *name, char *id, size_t idsz)
{
	char body[256];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"type\":\"api_token\",\"name\":\"%s\","
	    "\"value\":\"value-of-%s\"}", name, name);
	http("POST", "/v1/credentials", token, body, 201, &r);
	snprintf(id, idsz, "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
}

static void
member_sees_own_only(void **state)
{
	char ivy[128], jack[128], mine[64], theirs[64], path[160];
	zgt_resp r, r2;
	make_token("ivy", NULL, ivy, sizeof(ivy));
	make_token("jack", NULL, jack, sizeof(jack));
	make_cred(ivy, "ivy-cred", mine, sizeof(mine));
	make_cred(jack, "jack-cred", theirs, sizeof(theirs));

	http("GET", "/v1/credentials", ivy, NULL, 200, &r);
	size_t i;
	json_t *item;
	bool seen_mine = false;
	json_array_foreach(json_object_get(r.json, "items"), i, item) {
		assert_string_equal(json_string_value(json_object_get(item,
		    "owner")), "ivy");
		if (strcmp(json_string_value(json_object_get(item, "id")),
		    mine) == 0)
			seen_mine = true;
	}
	assert_true(seen_mine);
	zgt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/credentials/%s", mine);
	expect_status("GET", path, ivy, NULL, 200);
	snprintf(path, sizeof(path), "/v1/credentials/%s", theirs);
	http("GET", path, ivy, NULL, 404, &r);
	snprintf(path, sizeof(path), "/v1/credentials/%s/value", theirs);
	expect_status("GET", path, ivy, NULL, 404);
	snprintf(path, sizeof(path), "/v1/credentials/%s/rotate", theirs);
	expect_status("POST", path, ivy, "{\"value\":\"x\"}", 404);

	/* A missing id reads the same as someone else's. */
	char missing[64];
	snprintf(missing, sizeof(missing), "%s", theirs);
	missing[strlen(missing) - 1] = missing[strlen(missing) - 1] == '0' ?
	    '1' : '0';
	snprintf(path, sizeof(path), "/v1/credentials/%s", missing);
	http("GET", path, ivy, NULL, 404, &r2);
	assert_string_equal(zgt_error_code(&r), zgt_error_code(&r2));
	zgt_resp_free(&r);
	zgt_resp_free(&r2);
}

static void
scoped_token_list_only(void **state)
{
	char tok[128];
	zgt_resp r;
	make_token("kim", ",\"scope\":[{\"resource\":\"credentials\","
	    "\"actions\":[\"list\"]}]", tok, sizeof(tok));
	expect_status("GET", "/v1/credentials", tok, NULL, 200);
	http("POST", "/v1/credentials", tok, "{\"type\":\"api_token\","
	    "\"name\":\"kim-cred\",\"value\":\"v\"}", 403, &r);
	const char *msg = json_string_value(json_object_get(json_object_get(
	    r.json, "error"), "message"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "scope"));
	char rid[64];
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	zgt_resp_free(&r);
	expect_denial_event(rid, "kim");
	expect_error("POST", "/v1/tokens", srv.token, "{\"userId\":\"kim\","
	    "\"scope\":[{\"resource\":\"a//b\",\"actions\":[\"list\"]}]}", 400,
	    "a//b");
}

/* Creates service account name with roles (a JSON array) and a token. */
static void
make_account(const char *name, const char *roles, char *token, size_t tokensz)
{
	char body[256], path[128];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"roles\":%s}", name,
	    roles);
	http("POST", "/v1/service-accounts", srv.token, body, 201, &r);
	zgt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/service-accounts/sa:%s/tokens", name);
	http("POST", path, srv.token, "{}", 201, &r);
	assert_string_equal(zgt_str(&r, "subjectType"), "service_account");
	snprintf(token, tokensz, "%s", zgt_str(&r, "token"));
	zgt_resp_free(&r);
}

static void
service_account_lifecycle(void **state)
{
	char tok[128];
	make_role("{\"name\":\"cred-lister\",\"permissions\":[{\"resource\":"
	    "\"credentials\",\"actions\":[\"list\"]}]}");
	make_account("ci-bot", "[\"cred-lister\"]", tok, sizeof(tok));
	expect_status("GET", "/v1/credentials", tok, NULL, 200);

	/* Every user has the default role "member", which allows creating
	 * credentials. A service account has only the roles granted to it. */
	expect_status("POST", "/v1/credentials", tok, "{\"type\":\"api_token\","
	    "\"name\":\"bot-cred\",\"value\":\"v\"}", 403);
	assert_false(allowed("sa:ci-bot", "credentials", "create", NULL));
	assert_true(allowed("some-user", "credentials", "create", NULL));

	expect_status("DELETE", "/v1/service-accounts/sa:ci-bot", srv.token,
	    NULL, 200);
	expect_error("GET", "/v1/credentials", tok, NULL, 401, "sa:ci-bot");
	expect_status("GET", "/v1/service-accounts/sa:ci-bot", srv.token, NULL,
	    404);
	expect_error("POST", "/v1/tokens", srv.token, "{\"userId\":\"sa:x\"}",
	    400, "sa:x");
}

/* Deleting an account and making one of the same name must not revive
 * the old account's tokens. */
static void
account_token_not_revived(void **state)
{
	char tok[128];
	make_account("reborn", "[\"cred-lister\"]", tok, sizeof(tok));
	expect_status("DELETE", "/v1/service-accounts/sa:reborn", srv.token,
	    NULL, 200);
	expect_status("GET", "/v1/credentials", tok, NULL, 401);
	expect_status("POST", "/v1/service-accounts", srv.token,
	    "{\"name\":\"reborn\"}", 201);
	expect_status("GET", "/v1/credentials", tok, NULL, 401);
}

/* Creates roles bulk-1 ... bulk-n once, and writes them as a JSON array. */
static void
bulk_roles(size_t n, char *out, size_t outsz)
{
	static size_t created;
	char body[128];
	size_t len = 0;
	for (size_t i = 1; i <= n; i++) {
		if (i > created) {
			snprintf(body, sizeof(body), "{\"name\":\"bulk-%02zu\"}", i);
			make_role(body);
			created = i;
		}
		len += (size_t)snprintf(out + len, outsz - len, "%s\"bulk-%02zu\"",
		    i == 1 ? "[" : ",", i);
	}
	snprintf(out + len, outsz - len, "]");
}

/* The route accepts up to 16 roles for a new account. */
static void
account_with_16_roles(void **state)
{
	char roles[512], body[600];
	bulk_roles(16, roles, sizeof(roles));
	snprintf(body, sizeof(body), "{\"name\":\"wide\",\"roles\":%s}", roles);
	expect_status("POST", "/v1/service-accounts", srv.token, body, 201);
}

/* Deleting an account revokes every grant it holds, not only the first
 * ones, so that a new account of the same name starts with none. */
static void
account_delete_all_grants(void **state)
{
	char roles[512], body[600];
	zgt_resp r;
	bulk_roles(14, roles, sizeof(roles));
	snprintf(body, sizeof(body), "{\"name\":\"many\",\"roles\":%s}", roles);
	expect_status("POST", "/v1/service-accounts", srv.token, body, 201);
	make_role("{\"name\":\"zz-extra\",\"permissions\":[{\"resource\":"
	    "\"sys/keys\",\"actions\":[\"rotate_root\"]}]}");
	grant(srv.token, "sa:many", "zz-extra");
	expect_status("DELETE", "/v1/service-accounts/sa:many", srv.token, NULL,
	    200);
	expect_status("POST", "/v1/service-accounts", srv.token,
	    "{\"name\":\"many\"}", 201);
	http("GET", "/v1/users/sa:many/roles", srv.token, NULL, 200, &r);
	size_t left = json_array_size(json_object_get(r.json, "items"));
	if (left != 0)
		fprintf(stderr, "sa:many still has grants: %s\n", r.body);
	assert_int_equal(left, 0);
	zgt_resp_free(&r);
	assert_false(allowed("sa:many", "sys/keys", "rotate_root", NULL));
}

/* A denial inside a handler counts as much as one in the pipeline. */
static void
grant_denial_audited(void **state)
{
	char carol[128], rid[64];
	zgt_resp r;
	make_granter(carol, sizeof(carol));
	http("POST", "/v1/users/eve/roles", carol, "{\"roleId\":\"admin\"}",
	    403, &r);
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	zgt_resp_free(&r);
	expect_denial_event(rid, "carol");
}

static void
token_denial_audited(void **state)
{
	char tok[128], rid[64];
	zgt_resp r;
	make_token("lena", NULL, tok, sizeof(tok));
	http("POST", "/v1/tokens", tok, "{\"userId\":\"mona\"}", 403, &r);
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	zgt_resp_free(&r);
	expect_denial_event(rid, "lena");
}

static void
hidden_denial_audited(void **state)
{
	char nina[128], owner[128], id[64], path[160];
	zgt_resp r;
	make_token("nina", NULL, nina, sizeof(nina));
	make_token("otto", NULL, owner, sizeof(owner));
	make_cred(owner, "otto-cred", id, sizeof(id));
	snprintf(path, sizeof(path), "/v1/credentials/%s/value", id);
	http("GET", path, nina, NULL, 404, &r);
	char rid[64];
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	zgt_resp_free(&r);
	expect_denial_event(rid, "nina");
}

static void
bad_unknown_fields(void **state)
{
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"u1\","
	    "\"colour\":\"red\"}", 400, "colour");
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"u2\","
	    "\"permissions\":[{\"resource\":\"a\",\"actions\":[\"read\"],"
	    "\"priority\":1}]}", 400, "priority");
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"u3\","
	    "\"permissions\":[{\"resource\":\"a\",\"actions\":[\"read\"],"
	    "\"conditions\":[{\"type\":\"ip\",\"cidrs\":[\"192.0.2.0/24\"],"
	    "\"mask\":1}]}]}", 400, "mask");
	expect_rejected_write("POST", "/v1/users/pat/roles",
	    "{\"roleId\":\"viewer\",\"note\":\"x\"}", 400, "note");
	expect_error("POST", "/v1/authz/check", srv.token, "{\"userId\":\"u\","
	    "\"resource\":\"a\",\"action\":\"read\",\"tenant\":\"t\"}", 400,
	    "tenant");
}

static void
bad_patterns(void **state)
{
	static const char *const bad[] = {"a//b", "/a", "a/", "a/x**",
	    "a/b c", "a/b?", ""};
	char body[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"name\":\"pat\",\"permissions\":"
		    "[{\"resource\":\"%s\",\"actions\":[\"read\"]}]}", bad[i]);
		expect_rejected_write("POST", "/v1/roles", body, 400,
		    bad[i][0] ? bad[i] : "resource");
	}
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"pat\","
	    "\"permissions\":[{\"resource\":\"a\",\"actions\":[\"Read!\"]}]}",
	    400, "Read!");
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"bad name\"}",
	    400, "bad name");
}

/* A bad context value is named in the 400, and a malformed ip is not
 * taken as an address outside every range. */
static void
bad_context_values(void **state)
{
	static const char *const bad[] = {"{\"amount\":-5}",
	    "{\"amount\":5.5}", "{\"ip\":\"10.0.0.999\"}", "{\"ip\":\"\"}",
	    "{\"ip\":\"10.0.0.0/8\"}", "{\"ip\":7}", "{\"region\":null}"};
	static const char *const named[] = {"context.amount must be a string, "
	    "a non-negative integer or a boolean; got -5", "got 5.5",
	    "invalid context.ip \"10.0.0.999\"", "invalid context.ip \"\"",
	    "\"10.0.0.0/8\"", "invalid context.ip 7", "context.region must be a string, a "
	    "non-negative integer or a boolean; got null"};
	char body[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"userId\":\"u\",\"resource\":"
		    "\"a\",\"action\":\"read\",\"context\":%s}", bad[i]);
		expect_error("POST", "/v1/authz/check", srv.token, body, 400,
		    named[i]);
	}
	assert_false(allowed("u", "a", "read", "{\"ip\":\"2001:db8::1\"}"));
	assert_false(allowed("u", "a", "read", "{\"ip\":\"::ffff:10.1.2.3\"}"));
}

/* The check's resource names the bad character and its byte offset. */
static void
bad_check_resource_char(void **state)
{
	expect_error("POST", "/v1/authz/check", srv.token, "{\"userId\":\"u\","
	    "\"resource\":\"a/b c\",\"action\":\"read\"}", 400,
	    "character ' ' at byte offset 3");
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"sp\","
	    "\"permissions\":[{\"resource\":\"a/b c\",\"actions\":"
	    "[\"read\"]}]}", 400, "character ' ' at byte offset 3");
}

/* An unknown field inside a role names the object that contains it. */
static void
bad_nested_field_path(void **state)
{
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"nest\","
	    "\"permissions\":[{\"resource\":\"a\",\"actions\":[\"read\"],"
	    "\"extra\":1}]}", 400, "unknown field \"extra\" in permissions[0]");
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"nest\","
	    "\"permissions\":[{\"resource\":\"a\",\"actions\":[\"read\"],"
	    "\"conditions\":[{\"type\":\"ip\",\"cidrs\":[\"192.0.2.0/24\"],"
	    "\"mask\":1}]}]}", 400, "in permissions[0].conditions[0]");
}

static void
bad_cidrs(void **state)
{
	static const char *const bad[] = {"192.0.2.1/24", "192.0.2.0/33",
	    "192.0.2.0", "300.0.2.0/24", "2001:db8::/129", "2001:db8::1/32",
	    "2001:zz8::/32", "192.0.2.0/-1"};
	char body[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"name\":\"cidr\",\"permissions\":"
		    "[{\"resource\":\"a\",\"actions\":[\"read\"],\"conditions\":"
		    "[{\"type\":\"ip\",\"cidrs\":[\"%s\"]}]}]}", bad[i]);
		expect_rejected_write("POST", "/v1/roles", body, 400, bad[i]);
	}
}

static void
bad_timezones(void **state)
{
	static const char *const bad[] = {"Mars/Olympus_Mons", "Europe/Nowhere",
	    "../etc/passwd", "UTC+25"};
	char body[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"name\":\"tz\",\"permissions\":"
		    "[{\"resource\":\"a\",\"actions\":[\"read\"],\"conditions\":"
		    "[{\"type\":\"time\",\"timezone\":\"%s\"}]}]}", bad[i]);
		expect_rejected_write("POST", "/v1/roles", body, 400, bad[i]);
	}
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"tz\","
	    "\"permissions\":[{\"resource\":\"a\",\"actions\":[\"read\"],"
	    "\"conditions\":[{\"type\":\"time\",\"timezone\":"
	    "\"Europe/Nowhere\"}]}]}", 400,
	    "permissions[0].conditions[0].timezone");
}

static void
bad_attributes(void **state)
{
	static const char *const bad[] = {"subject.shoeSize == 3",
	    "resource.colour == subject.id", "request.context. == 1",
	    "request.amount = 1"};
	static const char *const named[] = {"subject.shoeSize",
	    "resource.colour", "request.context.", "got \"=\""};
	char body[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"name\":\"attr\",\"permissions\":"
		    "[{\"resource\":\"a\",\"actions\":[\"read\"],\"conditions\":"
		    "[\"%s\"]}]}", bad[i]);
		expect_rejected_write("POST", "/v1/roles", body, 400, named[i]);
	}
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"attr\","
	    "\"permissions\":[{\"resource\":\"a\",\"actions\":[\"read\"],"
	    "\"conditions\":[{\"type\":\"weather\"}]}]}", 400, "weather");
}

/* "<==" is no operator, so it must not parse as "<=" against "= 1". */
static void
bad_operator(void **state)
{
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"op\","
	    "\"permissions\":[{\"resource\":\"a\",\"actions\":[\"read\"],"
	    "\"conditions\":[\"request.amount <== 1\"]}]}", 400,
	    "request.amount <== 1");
}

static void
bad_cycle_named(void **state)
{
	make_role("{\"name\":\"cyc-a\"}");
	make_role("{\"name\":\"cyc-b\",\"inherits\":[\"cyc-a\"]}");
	make_role("{\"name\":\"cyc-c\",\"inherits\":[\"cyc-b\"]}");
	expect_rejected_write("PUT", "/v1/roles/cyc-a",
	    "{\"inherits\":[\"cyc-c\"]}", 400, "cyc-a -> cyc-c -> cyc-b -> cyc-a");
	expect_rejected_write("PUT", "/v1/roles/cyc-a",
	    "{\"inherits\":[\"cyc-a\"]}", 400, "cyc-a -> cyc-a");
	expect_rejected_write("POST", "/v1/roles", "{\"name\":\"orphan\","
	    "\"inherits\":[\"no-such-role\"]}", 400, "no-such-role");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(role_crud_round_trip),
		cmocka_unit_test(builtin_extend_not_delete),
		cmocka_unit_test(delete_inherited_role_409),
		cmocka_unit_test(grant_by_is_caller),
		cmocka_unit_test(grant_without_right_403),
		cmocka_unit_test(grant_expiry_flips),
		cmocka_unit_test(inheritance_is_transitive),
		cmocka_unit_test(deny_overrides_allow),
		cmocka_unit_test(cond_time_zone),
		cmocka_unit_test(cond_ip_cidr),
		cmocka_unit_test(cond_auth_mfa),
		cmocka_unit_test(cond_owner_is_subject),
		cmocka_unit_test(cond_amount_limit),
		cmocka_unit_test(no_role_forbidden_roles),
		cmocka_unit_test(viewer_not_for_others),
		cmocka_unit_test(member_sees_own_only),
		cmocka_unit_test(scoped_token_list_only),
		cmocka_unit_test(service_account_lifecycle),
		cmocka_unit_test(account_token_not_revived),
		cmocka_unit_test(account_with_16_roles),
		cmocka_unit_test(account_delete_all_grants),
		cmocka_unit_test(grant_denial_audited),
		cmocka_unit_test(token_denial_audited),
		cmocka_unit_test(hidden_denial_audited),
		cmocka_unit_test(bad_unknown_fields),
		cmocka_unit_test(bad_patterns),
		cmocka_unit_test(bad_context_values),
		cmocka_unit_test(bad_check_resource_char),
		cmocka_unit_test(bad_nested_field_path),
		cmocka_unit_test(bad_cidrs),
		cmocka_unit_test(bad_timezones),
		cmocka_unit_test(bad_attributes),
		cmocka_unit_test(bad_operator),
		cmocka_unit_test(bad_cycle_named),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
