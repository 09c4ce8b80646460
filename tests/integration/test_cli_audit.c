/*
 * The `zguard audit` client commands against the real daemon: record,
 * events, tree-head, public-key and erase, their --json output and exit
 * codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zgtest.h"

static unsigned seed;
static zgt_daemon daemon_under_test;

static zgt_run
cli(const char *const *args)
{
	return zgt_cli(&daemon_under_test, args, NULL);
}

/* Returns the value after "field" at the start of a line of text, or -1. */
static long long
field_number(const char *text, const char *field)
{
	size_t n = strlen(field);
	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, field, n) == 0 && p[n] == ' ')
			return strtoll(p + n, NULL, 10);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

/* Records an event on resource and returns its leaf index. */
static long long
record_event(const char *resource)
{
	const char *args[] = {"audit", "record", "--type", "workflow_execution",
	    "--resource", resource, "--action", "deploy", "--session", "s-1",
	    "--metadata", "{\"step\":3}", NULL};
	zgt_run r = cli(args);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "eventId"));
	long long leaf = field_number(r.out, "leafIndex");
	assert_true(leaf >= 0);
	zgt_run_free(&r);
	return leaf;
}

static int
setup(void **state)
{
	return zgt_daemon_start(&daemon_under_test, NULL);
}

/* Fails the group when the daemon did not stop cleanly or logged an error. */
static int
teardown(void **state)
{
	int rc = zgt_daemon_stop(&daemon_under_test);
	bool errors = zgt_log_has_errors(&daemon_under_test);
	if (rc != 0 || errors)
		printf("daemon exit %d, log errors %d; log in %s\n", rc, errors,
		    daemon_under_test.log_path);
	else
		zgt_daemon_cleanup(&daemon_under_test);
	return rc != 0 || errors ? -1 : 0;
}

static void
recorded_event_listed(void **state)
{
	char resource[64], leaf_text[32];
	snprintf(resource, sizeof(resource), "pipeline/%u a&b", seed);
	long long leaf = record_event(resource);
	snprintf(leaf_text, sizeof(leaf_text), "%lld", leaf);

	/* The resource has a space and '&', so the query must be escaped. */
	const char *args[] = {"audit", "events", "--user", "admin",
	    "--resource", resource, NULL};
	zgt_run r = cli(args);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "LEAF"));
	assert_non_null(strstr(r.out, "SUCCESS"));
	assert_non_null(strstr(r.out, resource));
	assert_non_null(strstr(r.out, "workflow_execution"));
	assert_non_null(strstr(r.out, "deploy"));
	assert_non_null(strstr(r.out, "true"));
	assert_non_null(strstr(r.out, leaf_text));
	zgt_run_free(&r);
}

static void
events_json_parses(void **state)
{
	char resource[64];
	snprintf(resource, sizeof(resource), "json/%u", seed);
	long long leaf = record_event(resource);

	const char *args[] = {"audit", "events", "--user", "admin", "--json",
	    "--limit", "1000", NULL};
	zgt_run r = cli(args);
	assert_int_equal(r.rc, 0);
	json_t *obj = json_loads(r.out, 0, NULL);
	assert_non_null(obj);
	json_t *events = json_object_get(obj, "events");
	assert_true(json_is_array(events));
	bool found = false;
	size_t i;
	json_t *item;
	json_array_foreach(events, i, item) {
		json_t *ev = json_object_get(item, "event");
		if (json_integer_value(json_object_get(item, "leafIndex")) != leaf)
			continue;
		found = true;
		assert_string_equal(json_string_value(json_object_get(ev,
		    "resource")), resource);
		assert_string_equal(json_string_value(json_object_get(ev,
		    "userId")), "admin");
		assert_string_equal(json_string_value(json_object_get(ev,
		    "sessionId")), "s-1");
	}
	assert_true(found);
	json_decref(obj);
	zgt_run_free(&r);
}

static void
failed_event_recorded(void **state)
{
	char resource[64];
	snprintf(resource, sizeof(resource), "failed/%u", seed);
	const char *rec[] = {"audit", "record", "--type", "authorization",
	    "--resource", resource, "--action", "approve", "--failed", NULL};
	zgt_run r = cli(rec);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);

	const char *list[] = {"audit", "events", "--resource", resource, NULL};
	r = cli(list);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "approve"));
	assert_non_null(strstr(r.out, "false"));
	zgt_run_free(&r);
}

static void
tree_head_has_size(void **state)
{
	record_event("tree-head");
	const char *args[] = {"audit", "tree-head", NULL};
	zgt_run r = cli(args);
	assert_int_equal(r.rc, 0);
	assert_true(field_number(r.out, "treeSize") > 0);
	assert_non_null(strstr(r.out, "rootHash"));
	assert_non_null(strstr(r.out, "timestamp"));
	assert_non_null(strstr(r.out, "keyId"));
	assert_non_null(strstr(r.out, "signature"));
	zgt_run_free(&r);
}

static void
public_key_without_token(void **state)
{
	zgt_daemon no_token = daemon_under_test;
	no_token.token[0] = '\0';
	const char *args[] = {"audit", "public-key", "--json", NULL};
	zgt_run r = {0};
	r.rc = zgt_run_cli(&no_token, args, NULL, &r.out, &r.err);
	assert_int_equal(r.rc, 0);
	json_t *obj = json_loads(r.out, 0, NULL);
	assert_non_null(obj);
	const char *key = json_string_value(json_object_get(obj, "publicKey"));
	assert_non_null(key);
	assert_int_equal(strlen(key), 64);
	json_decref(obj);
	zgt_run_free(&r);

	const char *plain[] = {"audit", "public-key", NULL};
	r = cli(plain);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "keyId"));
	assert_non_null(strstr(r.out, "publicKey"));
	zgt_run_free(&r);
}

static void
erase_prints_user(void **state)
{
	/* '@' and '+' are valid in a user id and must be escaped in the path. */
	const char *args[] = {"audit", "erase", "ops+cli@example.com", NULL};
	zgt_run r = cli(args);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "erased"));
	assert_non_null(strstr(r.out, "ops+cli@example.com"));
	zgt_run_free(&r);
}

static void
erase_invalid_user_exit_2(void **state)
{
	const char *args[] = {"audit", "erase", "ops/cli", NULL};
	zgt_run r = cli(args);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "ops/cli"));
	zgt_run_free(&r);
}

static void
bad_type_exit_1(void **state)
{
	const char *args[] = {"audit", "record", "--type", "no_such_type",
	    "--resource", "r", "--action", "a", NULL};
	zgt_run r = cli(args);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "no_such_type"));
	zgt_run_free(&r);
}

static void
unknown_flag_exit_2(void **state)
{
	const char *args[] = {"audit", "events", "--no-such-flag", NULL};
	zgt_run r = cli(args);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--no-such-flag"));
	zgt_run_free(&r);
}

static void
bad_metadata_exit_2(void **state)
{
	const char *args[] = {"audit", "record", "--type", "transaction",
	    "--resource", "r", "--action", "a", "--metadata", "[1]", NULL};
	zgt_run r = cli(args);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--metadata"));
	zgt_run_free(&r);
}

int
main(void)
{
	seed = zgt_seed("test_cli_audit");
	srand(seed);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recorded_event_listed),
		cmocka_unit_test(events_json_parses),
		cmocka_unit_test(failed_event_recorded),
		cmocka_unit_test(tree_head_has_size),
		cmocka_unit_test(public_key_without_token),
		cmocka_unit_test(erase_prints_user),
		cmocka_unit_test(erase_invalid_user_exit_2),
		cmocka_unit_test(bad_type_exit_1),
		cmocka_unit_test(unknown_flag_exit_2),
		cmocka_unit_test(bad_metadata_exit_2),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
