/*
 * Checks the route table itself: every route but health and unseal names
 * the resource and action the permission engine checks, every {name} in
 * a resource is a parameter of the route's path, and routes that read an
 * object's owner name the object in their path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/server.h"

/* The routes that run before anyone can be identified. */
static bool
exempt(const zg_route *r)
{
	return (strcmp(r->method, "GET") == 0 &&
	    strcmp(r->pattern, "/v1/health") == 0) ||
	    (strcmp(r->method, "POST") == 0 &&
	    strcmp(r->pattern, "/v1/sys/unseal") == 0);
}

static void
test_every_route_has_resource_and_action(void **state)
{
	int missing = 0;
	for (const zg_route *r = zg_routes; r->method != NULL; r++) {
		if (exempt(r))
			continue;
		if (r->resource == NULL || r->resource[0] == '\0' ||
		    r->action == NULL || r->action[0] == '\0') {
			print_error("%s %s has no resource or action\n",
			    r->method, r->pattern);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
}

static void
test_exempt_routes_need_no_token(void **state)
{
	for (const zg_route *r = zg_routes; r->method != NULL; r++)
		if (exempt(r))
			assert_true(r->flags & ZG_ROUTE_NO_AUTH);
}

/* True if pattern has the parameter {name} (name_len bytes). */
static bool
has_param(const char *pattern, const char *name, size_t name_len)
{
	for (const char *p = pattern; (p = strchr(p, '{')) != NULL; p++) {
		const char *close = strchr(p, '}');
		if (close != NULL && (size_t)(close - p - 1) == name_len &&
		    strncmp(p + 1, name, name_len) == 0)
			return true;
	}
	return false;
}

static void
test_resource_params_exist(void **state)
{
	int bad = 0;
	for (const zg_route *r = zg_routes; r->method != NULL; r++) {
		if (r->resource == NULL)
			continue;
		for (const char *p = r->resource; (p = strchr(p, '{')) != NULL;
		    p++) {
			const char *close = strchr(p, '}');
			if (close == NULL || !has_param(r->pattern, p + 1,
			    (size_t)(close - p - 1))) {
				print_error("%s %s: resource %s names a parameter "
				    "the path lacks\n", r->method, r->pattern,
				    r->resource);
				bad++;
				break;
			}
		}
	}
	assert_int_equal(bad, 0);
}

static void
test_owner_routes_name_an_object(void **state)
{
	for (const zg_route *r = zg_routes; r->method != NULL; r++)
		if (r->owner != NULL)
			assert_non_null(strchr(r->resource, '{'));
}

/* Routes with a secret in the response or an authenticated principal
 * record an audit event; only health records none. */
static void
test_every_authenticated_route_is_audited(void **state)
{
	for (const zg_route *r = zg_routes; r->method != NULL; r++) {
		if (strcmp(r->pattern, "/v1/health") == 0)
			continue;
		if (r->event_type == NULL)
			print_error("%s %s records no audit event\n", r->method,
			    r->pattern);
		assert_non_null(r->event_type);
	}
}

static void
test_resource_expansion(void **state)
{
	zg_request req;
	char out[ZG_AUTHZ_PATTERN_MAX + 1];
	memset(&req, 0, sizeof(req));
	assert_int_equal(zg_route_match("DELETE",
	    "/v1/users/alice/roles/viewer", &req, out, sizeof(out)), ZG_OK);
	assert_int_equal(zg_route_resource(&req, out, sizeof(out)), ZG_OK);
	assert_string_equal(out, "users/alice/roles/viewer");
}

/* A parameter that would widen the checked path is refused. */
static void
test_resource_rejects_wildcards(void **state)
{
	zg_request req;
	char out[ZG_AUTHZ_PATTERN_MAX + 1];
	memset(&req, 0, sizeof(req));
	assert_int_equal(zg_route_match("GET", "/v1/credentials/*", &req, out,
	    sizeof(out)), ZG_OK);
	assert_int_equal(zg_route_resource(&req, out, sizeof(out)),
	    ZG_ERR_INVALID);
	assert_non_null(strstr(req.em.text, "\"*\""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_route_has_resource_and_action),
		cmocka_unit_test(test_exempt_routes_need_no_token),
		cmocka_unit_test(test_resource_params_exist),
		cmocka_unit_test(test_owner_routes_name_an_object),
		cmocka_unit_test(test_every_authenticated_route_is_audited),
		cmocka_unit_test(test_resource_expansion),
		cmocka_unit_test(test_resource_rejects_wildcards),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
