/*
 * Unit tests for the permission engine: deny override, inheritance,
 * expired grants, scopes, every condition type, reloads by version, a
 * sync through a store shared by two engines, and concurrent deciders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "authz/engine.h"
#include "base/timeutil.h"

/* 2026-03-02T10:00:00Z, a Monday: 11:00 in Berlin. */
#define MONDAY_10Z 1772445600000000LL
#define HOUR_US 3600000000LL
#define DAY_US (24 * HOUR_US)

static void
role_from(const char *text, zg_authz_role *role)
{
	zg_errmsg em;
	json_t *j = json_loads(text, 0, NULL);
	if (j == NULL)
		fail_msg("test JSON does not parse: %s", text);
	if (zg_authz_role_from_json(j, role, &em) != ZG_OK)
		fail_msg("%s: %s", em.text, text);
	json_decref(j);
}

static zg_authz_grant
grant(const char *user, const char *role, int64_t expires_at)
{
	zg_authz_grant g;
	memset(&g, 0, sizeof(g));
	snprintf(g.user_id, sizeof(g.user_id), "%s", user);
	snprintf(g.role_id, sizeof(g.role_id), "%s", role);
	snprintf(g.granted_by, sizeof(g.granted_by), "admin");
	g.expires_at = expires_at;
	return g;
}

/* An engine with the given role texts and grants, at version 1. */
static zg_authz_engine *
engine_with(const char *const *roles, size_t nroles,
    const zg_authz_grant *grants, size_t ngrants)
{
	zg_authz_role r[16];
	zg_errmsg em;
	zg_authz_engine *e = zg_authz_engine_new();
	assert_non_null(e);
	for (size_t i = 0; i < nroles; i++)
		role_from(roles[i], &r[i]);
	if (zg_authz_roles_check(r, nroles, &em) != ZG_OK)
		fail_msg("%s", em.text);
	assert_int_equal(zg_authz_engine_load(e, r, nroles, grants, ngrants, 1),
	    ZG_OK);
	for (size_t i = 0; i < nroles; i++)
		zg_authz_role_free(&r[i]);
	return e;
}

static zg_authz_subject
subject(const char *id)
{
	return (zg_authz_subject){.id = id, .type = "user",
	    .auth_method = "token", .ip = "10.1.2.3"};
}

static bool
allowed(zg_authz_engine *e, const zg_authz_subject *s, const char *path,
    const char *action, const zg_authz_context *ctx, int64_t now)
{
	zg_authz_decision d;
	zg_errmsg em;
	if (zg_authz_decide(e, s, path, action, ctx, now, &d, &em) != ZG_OK)
		fail_msg("decide %s %s: %s", path, action, em.text);
	return d.allowed;
}

static void
test_builtin_admin_viewer(void **state)
{
	zg_authz_role *roles;
	size_t n;
	zg_authz_grant g[] = {grant("root", "admin", 0),
	    grant("val", "viewer", 0), grant("wendy", "workflow_manager", 0)};
	assert_int_equal(zg_authz_builtin_roles(&roles, &n), ZG_OK);
	zg_authz_engine *e = zg_authz_engine_new();
	assert_int_equal(zg_authz_engine_load(e, roles, n, g, 3, 1), ZG_OK);
	zg_authz_roles_free(roles, n);
	zg_authz_subject root = subject("root"), val = subject("val");
	zg_authz_subject wendy = subject("wendy");
	int64_t now = MONDAY_10Z;

	assert_true(allowed(e, &root, "keys/k1", "delete", NULL, now));
	assert_true(allowed(e, &val, "workflows/w1", "read", NULL, now));
	assert_true(allowed(e, &val, "workflows/w1/executions/x1", "read",
	    NULL, now));
	assert_false(allowed(e, &val, "workflows/w1", "update", NULL, now));
	assert_true(allowed(e, &wendy, "workflows/w1/executions", "trigger",
	    NULL, now));
	assert_false(allowed(e, &wendy, "credentials/c1", "read", NULL, now));
	zg_authz_engine_free(e);
}

static void
test_deny_overrides_allow(void **state)
{
	static const char *const roles[] = {
	    "{\"name\": \"reader\", \"permissions\": [{\"resource\": \"**\", "
	    "\"actions\": [\"*\"]}]}",
	    "{\"name\": \"nokeys\", \"permissions\": [{\"resource\": "
	    "\"keys/*\", \"actions\": [\"delete\"], \"effect\": \"deny\"}]}",
	};
	zg_authz_grant g[] = {grant("u", "reader", 0), grant("u", "nokeys", 0)};
	zg_authz_engine *e = engine_with(roles, 2, g, 2);
	zg_authz_subject s = subject("u");
	zg_authz_decision d;
	zg_errmsg em;
	assert_int_equal(zg_authz_decide(e, &s, "keys/k1", "delete", NULL,
	    MONDAY_10Z, &d, &em), ZG_OK);
	assert_false(d.allowed);
	assert_string_equal(d.matched_role, "nokeys");
	assert_int_equal(d.matched_permission, 0);
	assert_non_null(strstr(d.reason, "deny"));
	assert_true(allowed(e, &s, "keys/k1", "read", NULL, MONDAY_10Z));
	zg_authz_engine_free(e);
}

static void
test_nothing_matching_denies(void **state)
{
	zg_authz_engine *e = engine_with(NULL, 0, NULL, 0);
	zg_authz_subject s = subject("nobody");
	zg_authz_decision d;
	zg_errmsg em;
	assert_int_equal(zg_authz_decide(e, &s, "workflows/w1", "read", NULL,
	    MONDAY_10Z, &d, &em), ZG_OK);
	assert_false(d.allowed);
	assert_int_equal(d.matched_permission, -1);
	assert_string_equal(d.matched_role, "");
	assert_non_null(strstr(d.reason, "No permission"));
	zg_authz_engine_free(e);
}

static void
test_inheritance_transitive(void **state)
{
	static const char *const roles[] = {
	    "{\"name\": \"a\", \"inherits\": [\"b\"]}",
	    "{\"name\": \"b\", \"inherits\": [\"c\"]}",
	    "{\"name\": \"c\", \"permissions\": [{\"resource\": \"x/*\", "
	    "\"actions\": [\"read\"]}]}",
	};
	zg_authz_grant g[] = {grant("u", "a", 0)};
	zg_authz_engine *e = engine_with(roles, 3, g, 1);
	zg_authz_subject s = subject("u");
	zg_authz_decision d;
	zg_errmsg em;
	assert_int_equal(zg_authz_decide(e, &s, "x/1", "read", NULL,
	    MONDAY_10Z, &d, &em), ZG_OK);
	assert_true(d.allowed);
	assert_string_equal(d.matched_role, "c");
	assert_string_equal(d.matched_resource, "x/*");
	zg_authz_engine_free(e);
}

static void
test_expired_grant_absent(void **state)
{
	static const char *const roles[] = {
	    "{\"name\": \"r\", \"permissions\": [{\"resource\": \"x\", "
	    "\"actions\": [\"read\"]}]}",
	};
	int64_t now = MONDAY_10Z;
	zg_authz_grant g[] = {grant("u", "r", now + HOUR_US),
	    grant("old", "r", now - 1)};
	zg_authz_engine *e = engine_with(roles, 1, g, 2);
	zg_authz_subject u = subject("u"), old = subject("old");
	assert_true(allowed(e, &u, "x", "read", NULL, now));
	/* The cached form must not outlive the grant it was built from. */
	assert_false(allowed(e, &u, "x", "read", NULL, now + HOUR_US));
	assert_false(allowed(e, &old, "x", "read", NULL, now));
	zg_authz_engine_free(e);
}

static void
test_scope_intersects_roles(void **state)
{
	static const char *const roles[] = {
	    "{\"name\": \"r\", \"permissions\": [{\"resource\": \"**\", "
	    "\"actions\": [\"read\", \"update\"]}]}",
	};
	zg_authz_grant g[] = {grant("u", "r", 0)};
	zg_authz_engine *e = engine_with(roles, 1, g, 1);
	zg_authz_perm scope;
	zg_errmsg em;
	json_t *j = json_pack("{s:s,s:[s,s]}", "resource", "workflows/*",
	    "actions", "read", "delete");
	assert_int_equal(zg_authz_perm_from_json(j, "scope[0]", &scope, &em),
	    ZG_OK);
	json_decref(j);
	zg_authz_subject s = subject("u");
	s.scope = &scope;
	s.nscope = 1;
	assert_true(allowed(e, &s, "workflows/w1", "read", NULL, MONDAY_10Z));
	/* The role allows update but the scope does not. */
	assert_false(allowed(e, &s, "workflows/w1", "update", NULL,
	    MONDAY_10Z));
	/* The scope allows delete but the role does not. */
	assert_false(allowed(e, &s, "workflows/w1", "delete", NULL,
	    MONDAY_10Z));
	assert_false(allowed(e, &s, "keys/k1", "read", NULL, MONDAY_10Z));
	zg_authz_perm_free(&scope);
	zg_authz_engine_free(e);
}

/* One role "r" with a single permission on "x" under the condition. */
static zg_authz_engine *
engine_with_cond(const char *cond)
{
	char text[1024];
	const char *roles[1] = {text};
	snprintf(text, sizeof(text), "{\"name\": \"r\", \"permissions\": "
	    "[{\"resource\": \"x\", \"actions\": [\"read\"], \"conditions\": "
	    "[%s]}]}", cond);
	zg_authz_grant g[] = {grant("u", "r", 0)};
	return engine_with(roles, 1, g, 1);
}

static void
test_cond_time_window(void **state)
{
	zg_authz_engine *e = engine_with_cond("{\"type\": \"time\", \"days\": "
	    "[\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], \"hours\": "
	    "{\"from\": \"09:00\", \"to\": \"17:00\"}, \"timezone\": "
	    "\"Europe/Berlin\"}");
	zg_authz_subject s = subject("u");
	int64_t mon = MONDAY_10Z;
	assert_true(allowed(e, &s, "x", "read", NULL, mon));
	/* 08:00 UTC is 09:00 in Berlin in winter: inside, and 07:59 not. */
	assert_true(allowed(e, &s, "x", "read", NULL, mon - 2 * HOUR_US));
	assert_false(allowed(e, &s, "x", "read", NULL,
	    mon - 2 * HOUR_US - 60000000));
	/* 16:00 UTC is 17:00 in Berlin: the end is exclusive. */
	assert_false(allowed(e, &s, "x", "read", NULL, mon + 6 * HOUR_US));
	assert_false(allowed(e, &s, "x", "read", NULL, mon - DAY_US));
	zg_authz_engine_free(e);
}

static void
test_cond_time_overnight(void **state)
{
	zg_authz_engine *e = engine_with_cond("{\"type\": \"time\", \"hours\": "
	    "{\"from\": \"22:00\", \"to\": \"06:00\"}}");
	zg_authz_subject s = subject("u");
	int64_t midnight = MONDAY_10Z - 10 * HOUR_US;
	assert_true(allowed(e, &s, "x", "read", NULL, midnight + HOUR_US));
	assert_true(allowed(e, &s, "x", "read", NULL, midnight - HOUR_US));
	assert_false(allowed(e, &s, "x", "read", NULL, midnight + 12 * HOUR_US));
	zg_authz_engine_free(e);
}

static void
test_cond_ip_ranges(void **state)
{
	zg_authz_engine *e = engine_with_cond("{\"type\": \"ip\", \"cidrs\": "
	    "[\"10.0.0.0/8\", \"2001:db8::/32\"]}");
	zg_authz_subject s = subject("u");
	static const struct {
		const char *ip;
		bool in;
	} v[] = {
	    {"10.1.2.3", true}, {"11.0.0.1", false},
	    {"::ffff:10.9.9.9", true}, {"2001:db8:1::5", true},
	    {"2001:db9::1", false}, {"not-an-ip", false}, {NULL, false},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		s.ip = v[i].ip;
		if (allowed(e, &s, "x", "read", NULL, MONDAY_10Z) != v[i].in)
			fail_msg("ip %s: expected %s", v[i].ip ? v[i].ip : "(none)",
			    v[i].in ? "inside" : "outside");
	}
	zg_authz_engine_free(e);
}

static void
test_cond_auth_mfa(void **state)
{
	zg_authz_engine *e = engine_with_cond("{\"type\": \"auth\", "
	    "\"methods\": [\"oidc\", \"magic\"], \"mfa\": true}");
	zg_authz_subject s = subject("u");
	s.auth_method = "oidc";
	s.mfa = true;
	assert_true(allowed(e, &s, "x", "read", NULL, MONDAY_10Z));
	s.mfa = false;
	assert_false(allowed(e, &s, "x", "read", NULL, MONDAY_10Z));
	s.mfa = true;
	s.auth_method = "token";
	assert_false(allowed(e, &s, "x", "read", NULL, MONDAY_10Z));
	zg_authz_engine_free(e);
}

static void
test_cond_owner_compare(void **state)
{
	zg_authz_engine *e = engine_with_cond(
	    "\"resource.ownerId == subject.id\"");
	zg_authz_subject s = subject("u");
	zg_authz_context own = {.resource_owner_id = "u"};
	zg_authz_context other = {.resource_owner_id = "v"};
	assert_true(allowed(e, &s, "x", "read", &own, MONDAY_10Z));
	assert_false(allowed(e, &s, "x", "read", &other, MONDAY_10Z));
	/* A missing attribute never satisfies a comparison. */
	assert_false(allowed(e, &s, "x", "read", NULL, MONDAY_10Z));
	zg_authz_engine_free(e);
}

static void
test_cond_amount_big_integers(void **state)
{
	zg_authz_engine *e = engine_with_cond("\"request.amount <= "
	    "100000000000000000000000000000\"");
	zg_authz_subject s = subject("u");
	static const struct {
		const char *amount;
		bool ok;
	} v[] = {
	    {"99999999999999999999999999999", true},
	    {"100000000000000000000000000000", true},
	    {"0000100000000000000000000000000000", true},
	    {"100000000000000000000000000001", false},
	    {"1000000000000000000000000000000", false},
	    {"1e3", false}, {"-1", false}, {"", false},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		zg_authz_context c = {.amount = v[i].amount};
		if (allowed(e, &s, "x", "read", &c, MONDAY_10Z) != v[i].ok)
			fail_msg("amount \"%s\": expected %s", v[i].amount,
			    v[i].ok ? "allowed" : "denied");
	}
	zg_authz_engine_free(e);
}

static void
test_cond_context_variable(void **state)
{
	zg_authz_engine *e = engine_with_cond("{\"type\": \"compare\", "
	    "\"left\": \"request.context.env\", \"op\": \"!=\", \"right\": "
	    "\"prod\"}");
	zg_authz_subject s = subject("u");
	zg_authz_kv dev[] = {{"env", "dev"}}, prod[] = {{"env", "prod"}};
	zg_authz_context c = {.vars = dev, .nvars = 1};
	assert_true(allowed(e, &s, "x", "read", &c, MONDAY_10Z));
	c.vars = prod;
	assert_false(allowed(e, &s, "x", "read", &c, MONDAY_10Z));
	c.nvars = 0;
	assert_false(allowed(e, &s, "x", "read", &c, MONDAY_10Z));
	zg_authz_engine_free(e);
}

static void
test_invalid_request(void **state)
{
	zg_authz_engine *e = engine_with(NULL, 0, NULL, 0);
	zg_authz_subject s = subject("u");
	zg_authz_decision d;
	zg_errmsg em;
	assert_int_equal(zg_authz_decide(e, &s, "a//b", "read", NULL,
	    MONDAY_10Z, &d, &em), ZG_ERR_INVALID);
	assert_int_equal(zg_authz_decide(e, &s, "a/*", "read", NULL,
	    MONDAY_10Z, &d, &em), ZG_ERR_INVALID);
	assert_int_equal(zg_authz_decide(e, &s, "a", "*", NULL, MONDAY_10Z,
	    &d, &em), ZG_ERR_INVALID);
	assert_non_null(strstr(em.text, "action"));
	zg_authz_engine_free(e);
}

static void
test_reload_by_version(void **state)
{
	static const char *const roles[] = {
	    "{\"name\": \"r\", \"permissions\": [{\"resource\": \"x\", "
	    "\"actions\": [\"read\"]}]}",
	};
	zg_authz_grant g[] = {grant("u", "r", 0)};
	zg_authz_engine *e = engine_with(roles, 1, g, 1);
	zg_authz_subject s = subject("u");
	assert_int_equal(zg_authz_engine_version(e), 1);
	assert_true(allowed(e, &s, "x", "read", NULL, MONDAY_10Z));
	zg_authz_role r;
	role_from(roles[0], &r);
	assert_int_equal(zg_authz_engine_load(e, &r, 1, NULL, 0, 2), ZG_OK);
	zg_authz_role_free(&r);
	assert_int_equal(zg_authz_engine_version(e), 2);
	assert_false(allowed(e, &s, "x", "read", NULL, MONDAY_10Z));
	zg_authz_engine_free(e);
}

/* A store with only the calls sync makes: objects in memory, one counter. */
typedef struct fake_store {
	zg_store base;
	zg_obj_row rows[8];
	size_t n;
	int64_t counter;
} fake_store;

static zg_err
fake_counter_add(zg_store *st, const char *name, int64_t delta,
    int64_t *value)
{
	fake_store *f = (fake_store *)st;
	assert_string_equal(name, ZG_AUTHZ_VERSION_COUNTER);
	f->counter += delta;
	*value = f->counter;
	return ZG_OK;
}

static zg_err
fake_obj_list(zg_store *st, const char *kind, const char *owner,
    const char *prefix, const char *after, size_t limit, zg_obj_row **rows,
    size_t *n)
{
	fake_store *f = (fake_store *)st;
	*rows = calloc(f->n + 1, sizeof(zg_obj_row));
	*n = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->rows[i].kind, kind) != 0 ||
		    (after != NULL && strcmp(f->rows[i].id, after) <= 0))
			continue;
		(*rows)[*n] = f->rows[i];
		(*rows)[*n].body_json = strdup(f->rows[i].body_json);
		(*n)++;
	}
	return ZG_OK;
}

static void
fake_put(fake_store *f, const char *kind, const char *id, const char *body)
{
	zg_obj_row *r = &f->rows[f->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->body_json = (char *)body;
	f->counter++;
}

static void
test_sync_across_engines(void **state)
{
	static zg_store_ops ops;
	ops.counter_add = fake_counter_add;
	ops.obj_list = fake_obj_list;
	fake_store f = {.base = {.ops = &ops}};
	zg_authz_engine *a = zg_authz_engine_new(), *b = zg_authz_engine_new();
	zg_authz_subject s = subject("u");
	zg_errmsg em;

	fake_put(&f, ZG_AUTHZ_KIND_ROLE, "r", "{\"name\": \"r\", "
	    "\"permissions\": [{\"resource\": \"x\", \"actions\": [\"read\"]}]}");
	assert_int_equal(zg_authz_engine_sync(a, &f.base, &em), ZG_OK);
	assert_int_equal(zg_authz_engine_sync(b, &f.base, &em), ZG_OK);
	assert_false(allowed(b, &s, "x", "read", NULL, MONDAY_10Z));

	/* Another process grants the role, and b loads it at its next sync. */
	fake_put(&f, ZG_AUTHZ_KIND_GRANT, "u/r", "{\"userId\": \"u\", "
	    "\"roleId\": \"r\", \"grantedBy\": \"admin\"}");
	assert_false(allowed(b, &s, "x", "read", NULL, MONDAY_10Z));
	assert_int_equal(zg_authz_engine_sync(b, &f.base, &em), ZG_OK);
	assert_int_equal(zg_authz_engine_version(b), 2);
	assert_true(allowed(b, &s, "x", "read", NULL, MONDAY_10Z));

	fake_put(&f, ZG_AUTHZ_KIND_ROLE, "z", "{\"name\": \"z\", \"bad\": 1}");
	assert_int_equal(zg_authz_engine_sync(a, &f.base, &em),
	    ZG_ERR_INTEGRITY);
	assert_non_null(strstr(em.text, "\"bad\""));
	assert_int_equal(zg_authz_engine_version(a), 1);
	zg_authz_engine_free(a);
	zg_authz_engine_free(b);
}

typedef struct race {
	zg_authz_engine *e;
	int wrong;
} race;

static void *
decide_loop(void *arg)
{
	race *r = arg;
	zg_authz_subject s = subject("u");
	for (int i = 0; i < 20000; i++) {
		zg_authz_decision d;
		if (zg_authz_decide(r->e, &s, "x/1", "read", NULL, MONDAY_10Z,
		    &d, NULL) != ZG_OK || !d.allowed)
			r->wrong++;
		if (zg_authz_decide(r->e, &s, "y/1", "read", NULL, MONDAY_10Z,
		    &d, NULL) != ZG_OK || d.allowed)
			r->wrong++;
	}
	return NULL;
}

static void
test_concurrent_decide_and_load(void **state)
{
	static const char *const roles[] = {
	    "{\"name\": \"r\", \"permissions\": [{\"resource\": \"x/*\", "
	    "\"actions\": [\"read\"]}]}",
	};
	zg_authz_grant g[] = {grant("u", "r", 0)};
	zg_authz_engine *e = engine_with(roles, 1, g, 1);
	zg_authz_role r;
	role_from(roles[0], &r);
	pthread_t t[4];
	race rc[4];
	for (int i = 0; i < 4; i++) {
		rc[i] = (race){e, 0};
		assert_int_equal(pthread_create(&t[i], NULL, decide_loop, &rc[i]),
		    0);
	}
	for (int v = 2; v < 200; v++)
		assert_int_equal(zg_authz_engine_load(e, &r, 1, g, 1, v), ZG_OK);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(rc[i].wrong, 0);
	}
	zg_authz_role_free(&r);
	zg_authz_engine_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_admin_viewer),
		cmocka_unit_test(test_deny_overrides_allow),
		cmocka_unit_test(test_nothing_matching_denies),
		cmocka_unit_test(test_inheritance_transitive),
		cmocka_unit_test(test_expired_grant_absent),
		cmocka_unit_test(test_scope_intersects_roles),
		cmocka_unit_test(test_cond_time_window),
		cmocka_unit_test(test_cond_time_overnight),
		cmocka_unit_test(test_cond_ip_ranges),
		cmocka_unit_test(test_cond_auth_mfa),
		cmocka_unit_test(test_cond_owner_compare),
		cmocka_unit_test(test_cond_amount_big_integers),
		cmocka_unit_test(test_cond_context_variable),
		cmocka_unit_test(test_invalid_request),
		cmocka_unit_test(test_reload_by_version),
		cmocka_unit_test(test_sync_across_engines),
		cmocka_unit_test(test_concurrent_decide_and_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
