/*
 * Unit tests for the permission model: parsing roles, permissions,
 * conditions and grants, resource patterns, inheritance checks, the
 * built-in roles and the time-zone reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "authz/cond.h"
#include "authz/model.h"
#include "base/timeutil.h"

/* Parses one role from JSON text and returns the error code. */
static zg_err
parse_role(const char *text, zg_authz_role *role, zg_errmsg *em)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	if (j == NULL)
		fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
	zg_err err = zg_authz_role_from_json(j, role, em);
	json_decref(j);
	return err;
}

/* Parses a role holding one permission with the given condition. */
static zg_err
parse_cond(const char *cond, zg_errmsg *em)
{
	char text[1024];
	zg_authz_role role;
	snprintf(text, sizeof(text), "{\"name\": \"r\", \"permissions\": "
	    "[{\"resource\": \"a\", \"actions\": [\"read\"], \"conditions\": "
	    "[%s]}]}", cond);
	zg_err err = parse_role(text, &role, em);
	zg_authz_role_free(&role);
	return err;
}

static zg_err
parse_resource(const char *resource, zg_errmsg *em)
{
	char text[1024];
	zg_authz_role role;
	snprintf(text, sizeof(text), "{\"name\": \"r\", \"permissions\": "
	    "[{\"resource\": \"%s\", \"actions\": [\"read\"]}]}", resource);
	zg_err err = parse_role(text, &role, em);
	zg_authz_role_free(&role);
	return err;
}

static void
test_role_parse_roundtrip(void **state)
{
	zg_authz_role role, again;
	zg_errmsg em;
	assert_int_equal(parse_role("{\"name\": \"ops\", \"description\": "
	    "\"Operators\", \"inherits\": [\"viewer\"], \"permissions\": "
	    "[{\"resource\": \"workflows/*\", \"actions\": [\"read\", "
	    "\"update\"], \"effect\": \"deny\", \"conditions\": ["
	    "\"resource.ownerId == subject.id\", {\"type\": \"ip\", "
	    "\"cidrs\": [\"10.0.0.0/8\", \"2001:db8::/32\"]}, {\"type\": "
	    "\"time\", \"days\": [\"mon\", \"fri\"], \"hours\": {\"from\": "
	    "\"09:00\", \"to\": \"17:00\"}, \"timezone\": "
	    "\"Europe/Berlin\"}, {\"type\": \"auth\", \"methods\": "
	    "[\"oidc\"], \"mfa\": true}, {\"type\": \"compare\", \"left\": "
	    "\"request.amount\", \"op\": \"<=\", \"right\": 1000}]}]}",
	    &role, &em), ZG_OK);
	assert_string_equal(role.name, "ops");
	assert_int_equal(role.nperms, 1);
	assert_int_equal(role.perms[0].effect, ZG_AUTHZ_DENY);
	assert_int_equal(role.perms[0].nconds, 5);
	assert_int_equal(role.ninherits, 1);

	json_t *j = zg_authz_role_to_json(&role);
	assert_non_null(j);
	assert_int_equal(zg_authz_role_from_json(j, &again, &em), ZG_OK);
	json_t *j2 = zg_authz_role_to_json(&again);
	assert_true(json_equal(j, j2));
	json_decref(j);
	json_decref(j2);
	zg_authz_role_free(&role);
	zg_authz_role_free(&again);
}

static void
test_role_unknown_field(void **state)
{
	zg_authz_role role;
	zg_errmsg em;
	assert_int_equal(parse_role("{\"name\": \"r\", \"owner\": \"x\"}",
	    &role, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "\"owner\""));
}

static void
test_permission_unknown_field(void **state)
{
	zg_authz_role role;
	zg_errmsg em;
	assert_int_equal(parse_role("{\"name\": \"r\", \"permissions\": "
	    "[{\"resource\": \"a\", \"actions\": [\"read\"], \"priority\": 1}]}",
	    &role, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "\"priority\""));
}

static void
test_condition_unknown_field(void **state)
{
	zg_errmsg em;
	assert_int_equal(parse_cond("{\"type\": \"ip\", \"cidrs\": "
	    "[\"10.0.0.0/8\"], \"port\": 22}", &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "\"port\""));
	assert_int_equal(parse_cond("{\"type\": \"geo\"}", &em),
	    ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "geo"));
}

static void
test_unknown_field_path(void **state)
{
	zg_authz_role role;
	zg_errmsg em;
	assert_int_equal(parse_role("{\"name\": \"r\", \"permissions\": "
	    "[{\"resource\": \"a\", \"actions\": [\"read\"]}, "
	    "{\"resource\": \"b\", \"actions\": [\"read\"], \"extra\": 1}]}",
	    &role, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "unknown field \"extra\" in "
	    "permissions[1]"));
	assert_int_equal(parse_cond("{\"type\": \"auth\", \"mfa\": true, "
	    "\"extra\": 1}", &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "unknown field \"extra\" in "
	    "permissions[0].conditions[0]"));
	assert_int_equal(parse_cond("{\"type\": \"time\", \"hours\": "
	    "{\"from\": \"09:00\", \"to\": \"17:00\", \"tz\": \"UTC\"}}", &em),
	    ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "unknown field \"tz\" in "
	    "permissions[0].conditions[0].hours"));
	assert_int_equal(parse_cond("{\"type\": \"compare\", \"left\": "
	    "\"subject.id\", \"op\": \"==\", \"right\": \"x\", \"not\": true}",
	    &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "in permissions[0].conditions[0]"));
}

/* The bad character and its byte offset, since a space or a non-ASCII
 * byte is hard to see in the quoted pattern. */
static void
test_pattern_char_offset(void **state)
{
	zg_errmsg em;
	assert_int_equal(parse_resource("a/b c", &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "character ' ' at byte offset 3"));
	assert_int_equal(zg_authz_pattern_check("ab\xc3\xa9", false,
	    "resource", &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "character '\\xc3' at byte offset 2"));
	assert_int_equal(zg_authz_pattern_check("a/b*", false, "resource",
	    &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "character '*' at byte offset 3"));
	assert_int_equal(zg_authz_pattern_check("it's", true, "resource",
	    &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "character '\\x27' at byte offset 2"));
}

static void
test_pattern_invalid(void **state)
{
	static const char *const bad[] = {
	    "", "a//b", "/a", "a/", "**x", "a/**x/b", "x**", "a b", "a$b",
	    "a?", "a\\\\b", "a/b#c",
	};
	zg_errmsg em;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_resource(bad[i], &em) != ZG_ERR_INVALID)
			fail_msg("pattern \"%s\" was accepted", bad[i]);
		assert_non_null(strstr(em.text, "resource"));
	}
}

static void
test_pattern_too_long(void **state)
{
	char p[600];
	zg_errmsg em;
	memset(p, 'a', sizeof(p) - 1);
	p[sizeof(p) - 1] = '\0';
	assert_int_equal(zg_authz_pattern_check(p, true, "resource", &em),
	    ZG_ERR_INVALID);
	p[ZG_AUTHZ_PATTERN_MAX] = '\0';
	assert_int_equal(zg_authz_pattern_check(p, true, "resource", &em),
	    ZG_OK);
}

static void
test_pattern_valid(void **state)
{
	static const char *const good[] = {
	    "*", "**", "workflows/*", "credentials/{id}", "a/**/b",
	    "keys/k-1.v2:x@y", "cred*", "a/*b*/c",
	};
	zg_errmsg em;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (parse_resource(good[i], &em) != ZG_OK)
			fail_msg("pattern \"%s\" rejected: %s", good[i], em.text);
}

static void
test_pattern_match(void **state)
{
	static const struct {
		const char *pattern, *path;
		bool match;
	} v[] = {
	    {"workflows/*", "workflows/w1", true},
	    {"workflows/*", "workflows", false},
	    {"workflows/*", "workflows/w1/executions", false},
	    {"workflows/**", "workflows", true},
	    {"workflows/**", "workflows/w1/executions/e1", true},
	    {"**", "a/b/c", true},
	    {"*", "a", true},
	    {"*", "a/b", false},
	    {"a/**/b", "a/b", true},
	    {"a/**/b", "a/x/y/b", true},
	    {"a/**/b", "a/x/y/c", false},
	    {"**/b", "b", true},
	    {"cred*", "credentials", true},
	    {"cred*", "cre", false},
	    {"a/*x*/c", "a/yxy/c", true},
	    {"credentials/{id}", "credentials/{id}", true},
	    {"credentials/{id}", "credentials/c1", false},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (zg_authz_pattern_match(v[i].pattern, v[i].path) != v[i].match)
			fail_msg("\"%s\" against \"%s\": expected %s",
			    v[i].pattern, v[i].path, v[i].match ? "match" :
			    "no match");
}

static void
test_action_invalid(void **state)
{
	zg_authz_role role;
	zg_errmsg em;
	assert_int_equal(parse_role("{\"name\": \"r\", \"permissions\": "
	    "[{\"resource\": \"a\", \"actions\": [\"Read\"]}]}", &role, &em),
	    ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "actions[0]"));
	assert_int_equal(parse_role("{\"name\": \"r\", \"permissions\": "
	    "[{\"resource\": \"a\", \"actions\": []}]}", &role, &em),
	    ZG_ERR_INVALID);
	assert_int_equal(parse_role("{\"name\": \"r\", \"permissions\": "
	    "[{\"resource\": \"a\", \"actions\": [\"read\"], \"effect\": "
	    "\"maybe\"}]}", &role, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "maybe"));
}

static void
test_cidr_invalid(void **state)
{
	static const char *const bad[] = {
	    "10.0.0.0", "10.0.0.0/33", "300.1.1.1/8", "10.0.0.1/8",
	    "2001:db8::/129", "2001:db8::1/32", "10.0.0.0/", "10.0.0.0/8x",
	    "fe80::/-1", "",
	};
	char cond[256];
	zg_errmsg em;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(cond, sizeof(cond), "{\"type\": \"ip\", \"cidrs\": "
		    "[\"%s\"]}", bad[i]);
		if (parse_cond(cond, &em) != ZG_ERR_INVALID)
			fail_msg("CIDR \"%s\" was accepted", bad[i]);
		assert_non_null(strstr(em.text, "CIDR"));
	}
}

static void
test_timezone_unknown(void **state)
{
	zg_errmsg em;
	assert_int_equal(parse_cond("{\"type\": \"time\", \"timezone\": "
	    "\"Mars/Olympus_Mons\"}", &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "Mars/Olympus_Mons"));
	assert_int_equal(parse_cond("{\"type\": \"time\", \"timezone\": "
	    "\"../../etc/passwd\"}", &em), ZG_ERR_INVALID);
	assert_int_equal(parse_cond("{\"type\": \"time\", \"timezone\": "
	    "\"Europe\"}", &em), ZG_ERR_INVALID);
}

static void
test_timezone_path(void **state)
{
	zg_errmsg em;
	assert_int_equal(parse_cond("{\"type\": \"time\", \"timezone\": "
	    "\"Mars/Olympus_Mons\"}", &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text,
	    "permissions[0].conditions[0].timezone"));
	assert_non_null(strstr(em.text, "Mars/Olympus_Mons"));
	assert_int_equal(parse_cond("{\"type\": \"time\", \"timezone\": 1}",
	    &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text,
	    "permissions[0].conditions[0].timezone"));
}

static void
test_time_fields_invalid(void **state)
{
	zg_errmsg em;
	assert_int_equal(parse_cond("{\"type\": \"time\", \"days\": "
	    "[\"monday\"]}", &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "monday"));
	assert_int_equal(parse_cond("{\"type\": \"time\", \"hours\": "
	    "{\"from\": \"9:00\", \"to\": \"17:00\"}}", &em), ZG_ERR_INVALID);
	assert_int_equal(parse_cond("{\"type\": \"time\", \"hours\": "
	    "{\"from\": \"24:00\", \"to\": \"17:00\"}}", &em), ZG_ERR_INVALID);
	assert_int_equal(parse_cond("{\"type\": \"time\", \"hours\": "
	    "{\"from\": \"09:00\", \"to\": \"24:00\"}}", &em), ZG_OK);
}

static void
test_attribute_unknown(void **state)
{
	zg_errmsg em;
	assert_int_equal(parse_cond("{\"type\": \"compare\", \"left\": "
	    "\"subject.salary\", \"op\": \"==\", \"right\": 1}", &em),
	    ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "unknown attribute"));
	assert_non_null(strstr(em.text, "subject.salary"));
	assert_int_equal(parse_cond("\"resource.owner == subject.id\"", &em),
	    ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "resource.owner"));
	assert_int_equal(parse_cond("{\"type\": \"compare\", \"left\": "
	    "\"resource.ownerId\", \"op\": \"==\", \"right\": "
	    "\"request.context.\"}", &em), ZG_ERR_INVALID);
	assert_int_equal(parse_cond("{\"type\": \"compare\", \"left\": "
	    "\"literal\", \"op\": \"==\", \"right\": \"x\"}", &em),
	    ZG_ERR_INVALID);
}

static void
test_compare_op_invalid(void **state)
{
	zg_errmsg em;
	assert_int_equal(parse_cond("{\"type\": \"compare\", \"left\": "
	    "\"request.amount\", \"op\": \"=~\", \"right\": 1}", &em),
	    ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "=~"));
	assert_int_equal(parse_cond("{\"type\": \"compare\", \"left\": "
	    "\"request.amount\", \"op\": \"<\", \"right\": -5}", &em),
	    ZG_ERR_INVALID);
	assert_int_equal(parse_cond("\"request.amount\"", &em),
	    ZG_ERR_INVALID);
}

static void
test_short_form_equals_object(void **state)
{
	zg_authz_cond a, b;
	zg_errmsg em;
	json_t *s = json_string("request.context.team != 'red team'");
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "type", "compare", "left",
	    "request.context.team", "op", "!=", "right", "red team");
	assert_int_equal(zg_authz_cond_from_json(s, "c", &a, &em), ZG_OK);
	assert_int_equal(zg_authz_cond_from_json(o, "c", &b, &em), ZG_OK);
	json_t *ja = zg_authz_cond_to_json(&a), *jb = zg_authz_cond_to_json(&b);
	assert_true(json_equal(ja, jb));
	assert_int_equal(a.u.cmp.op, ZG_OP_NE);
	assert_string_equal(a.u.cmp.left.text, "team");
	assert_string_equal(a.u.cmp.right.text, "red team");
	json_decref(ja);
	json_decref(jb);
	json_decref(s);
	json_decref(o);
	zg_authz_cond_free(&a);
	zg_authz_cond_free(&b);
}

static void
test_auth_method_invalid(void **state)
{
	zg_errmsg em;
	assert_int_equal(parse_cond("{\"type\": \"auth\", \"methods\": "
	    "[\"password\"]}", &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "password"));
	assert_int_equal(parse_cond("{\"type\": \"auth\", \"mfa\": \"yes\"}",
	    &em), ZG_ERR_INVALID);
}

/* Builds roles from "name:inherit,inherit" specs. */
static void
make_roles(zg_authz_role *roles, const char *const *specs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char buf[128], text[512] = "";
		snprintf(buf, sizeof(buf), "%s", specs[i]);
		char *colon = strchr(buf, ':');
		*colon = '\0';
		size_t len = (size_t)snprintf(text, sizeof(text),
		    "{\"name\": \"%s\", \"inherits\": [", buf);
		const char *sep = "";
		for (char *tok = strtok(colon + 1, ","); tok != NULL;
		    tok = strtok(NULL, ",")) {
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "%s\"%s\"", sep, tok);
			sep = ", ";
		}
		snprintf(text + len, sizeof(text) - len, "]}");
		zg_errmsg em;
		if (parse_role(text, &roles[i], &em) != ZG_OK)
			fail_msg("%s: %s", text, em.text);
	}
}

static void
test_inherit_cycle(void **state)
{
	static const char *const specs[] = {"a:b", "b:c", "c:a", "d:"};
	zg_authz_role roles[4];
	zg_errmsg em;
	make_roles(roles, specs, 4);
	assert_int_equal(zg_authz_roles_check(roles, 4, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "a -> b -> c -> a"));
	for (int i = 0; i < 4; i++)
		zg_authz_role_free(&roles[i]);
}

static void
test_inherit_self_cycle(void **state)
{
	static const char *const specs[] = {"a:a"};
	zg_authz_role roles[1];
	zg_errmsg em;
	make_roles(roles, specs, 1);
	assert_int_equal(zg_authz_roles_check(roles, 1, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "a -> a"));
	zg_authz_role_free(&roles[0]);
}

static void
test_inherit_diamond_ok(void **state)
{
	static const char *const specs[] = {"top:l,r", "l:base", "r:base",
	    "base:"};
	zg_authz_role roles[4];
	zg_errmsg em;
	make_roles(roles, specs, 4);
	assert_int_equal(zg_authz_roles_check(roles, 4, &em), ZG_OK);
	for (int i = 0; i < 4; i++)
		zg_authz_role_free(&roles[i]);
}

static void
test_inherit_unknown_role(void **state)
{
	static const char *const specs[] = {"a:ghost"};
	zg_authz_role roles[1];
	zg_errmsg em;
	make_roles(roles, specs, 1);
	assert_int_equal(zg_authz_roles_check(roles, 1, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "ghost"));
	zg_authz_role_free(&roles[0]);
}

static void
test_builtin_roles(void **state)
{
	zg_authz_role *roles;
	size_t n;
	zg_errmsg em;
	assert_int_equal(zg_authz_builtin_roles(&roles, &n), ZG_OK);
	assert_int_equal(n, 3);
	assert_string_equal(roles[0].name, "admin");
	assert_string_equal(roles[0].perms[0].resource, "**");
	assert_int_equal(zg_authz_roles_check(roles, n, &em), ZG_OK);
	for (size_t i = 0; i < n; i++) {
		assert_true(zg_authz_role_is_builtin(roles[i].name));
		assert_int_equal(zg_authz_role_check_update(&roles[i], &em),
		    ZG_OK);
	}
	zg_authz_roles_free(roles, n);
}

static void
test_builtin_extend_not_shrink(void **state)
{
	zg_authz_role role;
	zg_errmsg em;
	assert_int_equal(parse_role("{\"name\": \"viewer\", \"permissions\": ["
	    "{\"resource\": \"workflows\", \"actions\": [\"read\"]},"
	    "{\"resource\": \"workflows/*\", \"actions\": [\"read\", \"list\"]},"
	    "{\"resource\": \"workflows/*/executions/**\", \"actions\": "
	    "[\"read\"]}, {\"resource\": \"reports/*\", \"actions\": "
	    "[\"read\"]}]}", &role, &em), ZG_OK);
	assert_int_equal(zg_authz_role_check_update(&role, &em), ZG_OK);
	zg_authz_role_free(&role);

	assert_int_equal(parse_role("{\"name\": \"viewer\", \"permissions\": ["
	    "{\"resource\": \"workflows\", \"actions\": [\"read\"]}]}", &role,
	    &em), ZG_OK);
	assert_int_equal(zg_authz_role_check_update(&role, &em),
	    ZG_ERR_FORBIDDEN);
	assert_non_null(strstr(em.text, "workflows/*"));
	zg_authz_role_free(&role);
}

static void
test_grant_parse(void **state)
{
	zg_authz_grant g;
	zg_errmsg em;
	json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "userId", "alice",
	    "roleId", "viewer", "grantedAt", "2026-01-01T00:00:00Z",
	    "expiresAt", "2026-02-01T00:00:00Z");
	assert_int_equal(zg_authz_grant_from_json(j, &g, &em), ZG_OK);
	assert_string_equal(g.user_id, "alice");
	assert_string_equal(g.role_id, "viewer");
	assert_true(g.expires_at > g.granted_at);
	assert_false(zg_authz_grant_expired(&g, g.expires_at - 1));
	assert_true(zg_authz_grant_expired(&g, g.expires_at));
	json_t *back = zg_authz_grant_to_json(&g);
	assert_true(json_equal(json_object_get(back, "expiresAt"),
	    json_object_get(j, "expiresAt")));
	json_decref(back);
	json_decref(j);
}

static void
test_grant_invalid(void **state)
{
	zg_authz_grant g;
	zg_errmsg em;
	json_t *j = json_pack("{s:s,s:s,s:b}", "userId", "alice", "roleId",
	    "viewer", "sudo", 1);
	assert_int_equal(zg_authz_grant_from_json(j, &g, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "\"sudo\""));
	json_decref(j);
	j = json_pack("{s:s,s:s,s:s}", "userId", "alice", "roleId", "viewer",
	    "expiresAt", "tomorrow");
	assert_int_equal(zg_authz_grant_from_json(j, &g, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "expiresAt"));
	json_decref(j);
	j = json_pack("{s:s,s:s}", "userId", "alice bob", "roleId", "viewer");
	assert_int_equal(zg_authz_grant_from_json(j, &g, &em), ZG_ERR_INVALID);
	json_decref(j);
}

static int64_t
at(const char *rfc3339)
{
	int64_t t;
	assert_int_equal(zg_time_parse_rfc3339(rfc3339, &t), ZG_OK);
	return t / 1000000;
}

static void
test_tz_offsets(void **state)
{
	static const struct {
		const char *zone, *when;
		int32_t offset;
	} v[] = {
	    {"UTC", "2026-07-01T00:00:00Z", 0},
	    {"Europe/Berlin", "2026-01-15T12:00:00Z", 3600},
	    {"Europe/Berlin", "2026-07-15T12:00:00Z", 7200},
	    /* Summer time starts at 01:00 UTC on the last Sunday of March. */
	    {"Europe/Berlin", "2026-03-29T00:59:59Z", 3600},
	    {"Europe/Berlin", "2026-03-29T01:00:00Z", 7200},
	    /* After the last transition in the file, from its footer rule. */
	    {"Europe/Berlin", "2100-07-01T00:00:00Z", 7200},
	    {"Europe/Berlin", "2100-12-01T00:00:00Z", 3600},
	    {"America/New_York", "2026-01-15T12:00:00Z", -18000},
	    {"America/New_York", "2026-07-15T12:00:00Z", -14400},
	    {"Australia/Sydney", "2026-01-15T12:00:00Z", 39600},
	    {"Australia/Sydney", "2026-07-15T12:00:00Z", 36000},
	    {"Australia/Sydney", "2100-01-15T12:00:00Z", 39600},
	    {"Asia/Kolkata", "2026-07-15T12:00:00Z", 19800},
	};
	zg_errmsg em;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const struct zg_tz *z;
		assert_int_equal(zg_tz_load(v[i].zone, &z, &em), ZG_OK);
		int32_t got = zg_tz_offset(z, at(v[i].when));
		if (got != v[i].offset)
			fail_msg("%s at %s: offset %d, expected %d", v[i].zone,
			    v[i].when, got, v[i].offset);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_parse_roundtrip),
		cmocka_unit_test(test_role_unknown_field),
		cmocka_unit_test(test_permission_unknown_field),
		cmocka_unit_test(test_condition_unknown_field),
		cmocka_unit_test(test_unknown_field_path),
		cmocka_unit_test(test_pattern_char_offset),
		cmocka_unit_test(test_pattern_invalid),
		cmocka_unit_test(test_pattern_too_long),
		cmocka_unit_test(test_pattern_valid),
		cmocka_unit_test(test_pattern_match),
		cmocka_unit_test(test_action_invalid),
		cmocka_unit_test(test_cidr_invalid),
		cmocka_unit_test(test_timezone_unknown),
		cmocka_unit_test(test_timezone_path),
		cmocka_unit_test(test_time_fields_invalid),
		cmocka_unit_test(test_attribute_unknown),
		cmocka_unit_test(test_compare_op_invalid),
		cmocka_unit_test(test_short_form_equals_object),
		cmocka_unit_test(test_auth_method_invalid),
		cmocka_unit_test(test_inherit_cycle),
		cmocka_unit_test(test_inherit_self_cycle),
		cmocka_unit_test(test_inherit_diamond_ok),
		cmocka_unit_test(test_inherit_unknown_role),
		cmocka_unit_test(test_builtin_roles),
		cmocka_unit_test(test_builtin_extend_not_shrink),
		cmocka_unit_test(test_grant_parse),
		cmocka_unit_test(test_grant_invalid),
		cmocka_unit_test(test_tz_offsets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
