/*
 * The zguard command-line client against the real daemon: every cred and
 * token subcommand, --json output, exit codes and --token-file.
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
static unsigned name_counter;

static zgt_run
cli_as(const zgt_daemon *d, const char *const *args, const char *stdin_text)
{
	return zgt_cli(d, args, stdin_text);
}

static zgt_run
cli(const char *const *args, const char *stdin_text)
{
	return zgt_cli(&daemon_under_test, args, stdin_text);
}

/* Copies the first "prefix<hex...>" word of text into out. */
static bool
find_word(const char *text, const char *prefix, char *out, size_t outsz)
{
	const char *p = strstr(text, prefix);
	if (p == NULL)
		return false;
	size_t n = strcspn(p, " \t\r\n\"");
	if (n >= outsz)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* Runs `cred put` with value on stdin and stores the new id. */
static void
put_cred(const char *value, char *id, size_t idsz)
{
	char name[48];
	snprintf(name, sizeof(name), "cli-%u-%u", seed, name_counter++);
	const char *args[] = {"cred", "put", "--type", "api_token", "--name", name,
	    NULL};
	zgt_run r = cli(args, value);
	if (r.rc != 0)
		printf("cred put: exit %d, stderr: %s\n", r.rc, r.err);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, name));
	assert_true(find_word(r.out, "cred_", id, idsz));
	assert_int_equal(strlen(id), strlen("cred_") + 32);
	zgt_run_free(&r);
}

static void
make_value(char *out, size_t outsz)
{
	snprintf(out, outsz, "cli-value-%u-%08x", seed, (unsigned)rand());
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
put_prints_id(void **state)
{
	char value[64], id[64];
	make_value(value, sizeof(value));
	put_cred(value, id, sizeof(id));
	assert_memory_equal(id, "cred_", 5);
}

static void
get_prints_value(void **state)
{
	char value[64], id[64], want[80];
	make_value(value, sizeof(value));
	put_cred(value, id, sizeof(id));

	const char *args[] = {"cred", "get", id, NULL};
	zgt_run r = cli(args, NULL);
	assert_int_equal(r.rc, 0);
	snprintf(want, sizeof(want), "%s\n", value);
	assert_string_equal(r.out, want);
	zgt_run_free(&r);
}

static void
list_shows_credential(void **state)
{
	char value[64], id[64];
	make_value(value, sizeof(value));
	put_cred(value, id, sizeof(id));

	const char *args[] = {"cred", "list", "--all", NULL};
	zgt_run r = cli(args, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "ID"));
	assert_non_null(strstr(r.out, "STATUS"));
	assert_non_null(strstr(r.out, id));
	/* A listing shows metadata only. */
	assert_null(strstr(r.out, value));
	zgt_run_free(&r);
}

static void
rotate_keeps_old_version(void **state)
{
	char first[64], second[64], id[64], want[80];
	make_value(first, sizeof(first));
	make_value(second, sizeof(second));
	put_cred(first, id, sizeof(id));

	const char *rotate[] = {"cred", "rotate", id, "--stdin", NULL};
	zgt_run r = cli(rotate, second);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, id));
	zgt_run_free(&r);

	const char *latest[] = {"cred", "get", id, NULL};
	r = cli(latest, NULL);
	assert_int_equal(r.rc, 0);
	snprintf(want, sizeof(want), "%s\n", second);
	assert_string_equal(r.out, want);
	zgt_run_free(&r);

	const char *v1[] = {"cred", "get", id, "--version", "1", NULL};
	r = cli(v1, NULL);
	assert_int_equal(r.rc, 0);
	snprintf(want, sizeof(want), "%s\n", first);
	assert_string_equal(r.out, want);
	zgt_run_free(&r);

	/* Without a value the server generates 64 hex characters. */
	const char *generate[] = {"cred", "rotate", id, NULL};
	r = cli(generate, NULL);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);
	r = cli(latest, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(strlen(r.out), 65);
	assert_int_equal(strspn(r.out, "0123456789abcdef"), 64);
	zgt_run_free(&r);
}

static void
lease_redeems_once(void **state)
{
	char value[64], id[64], lease[160], want[80];
	make_value(value, sizeof(value));
	put_cred(value, id, sizeof(id));

	const char *args[] = {"cred", "lease", id, "--ttl", "300", NULL};
	zgt_run r = cli(args, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "lease-token"));
	assert_true(find_word(r.out, "zgl_", lease, sizeof(lease)));
	/* The lease token is a secret, so it goes to stdout only. */
	assert_null(strstr(r.err, lease));
	zgt_run_free(&r);

	char line[170];
	snprintf(line, sizeof(line), "%s\n", lease);
	const char *redeem[] = {"cred", "redeem", NULL};
	r = cli(redeem, line);
	assert_int_equal(r.rc, 0);
	snprintf(want, sizeof(want), "%s\n", value);
	assert_string_equal(r.out, want);
	zgt_run_free(&r);

	r = cli(redeem, line);
	assert_int_equal(r.rc, 1);
	assert_null(strstr(r.out, value));
	zgt_run_free(&r);
}

static void
revoked_credential_not_readable(void **state)
{
	char value[64], id[64];
	make_value(value, sizeof(value));
	put_cred(value, id, sizeof(id));

	const char *revoke[] = {"cred", "revoke", id, NULL};
	zgt_run r = cli(revoke, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "revoked"));
	zgt_run_free(&r);

	const char *get[] = {"cred", "get", id, NULL};
	r = cli(get, NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "revoked"));
	assert_null(strstr(r.out, value));
	zgt_run_free(&r);
}

static void
token_create_and_revoke(void **state)
{
	char token[128], token_id[64];
	const char *create[] = {"token", "create", "--user", "bob", "--ttl",
	    "3600", NULL};
	zgt_run r = cli(create, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(find_word(r.out, "zgt_", token, sizeof(token)));
	assert_true(find_word(r.out, "tok_", token_id, sizeof(token_id)));
	assert_non_null(strstr(r.out, "bob"));
	zgt_run_free(&r);

	/* Bob's token authenticates, and his list contains none of the admin's
	 * credentials. */
	zgt_daemon as_bob = daemon_under_test;
	snprintf(as_bob.token, sizeof(as_bob.token), "%s", token);
	const char *list[] = {"cred", "list", "--json", NULL};
	r = cli_as(&as_bob, list, NULL);
	assert_int_equal(r.rc, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
	zgt_run_free(&r);

	const char *revoke[] = {"token", "revoke", token_id, NULL};
	r = cli(revoke, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, token_id));
	zgt_run_free(&r);

	r = cli_as(&as_bob, list, NULL);
	assert_int_equal(r.rc, 1);
	zgt_run_free(&r);
}

static void
json_output_parses(void **state)
{
	char value[64], id[64];
	make_value(value, sizeof(value));
	put_cred(value, id, sizeof(id));

	const char *show[] = {"cred", "show", id, "--json", NULL};
	zgt_run r = cli(show, NULL);
	assert_int_equal(r.rc, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), id);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	assert_null(json_object_get(j, "value"));
	json_decref(j);
	zgt_run_free(&r);

	const char *get[] = {"cred", "get", id, "--json", NULL};
	r = cli(get, NULL);
	assert_int_equal(r.rc, 0);
	j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "value")), value);
	json_decref(j);
	zgt_run_free(&r);

	const char *list[] = {"cred", "list", "--all", "--json", NULL};
	r = cli(list, NULL);
	assert_int_equal(r.rc, 0);
	j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_array(json_object_get(j, "items")));
	assert_true(json_array_size(json_object_get(j, "items")) >= 1);
	json_decref(j);
	zgt_run_free(&r);

	const char *token[] = {"token", "create", "--user", "carol", "--json",
	    NULL};
	r = cli(token, NULL);
	assert_int_equal(r.rc, 0);
	j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "userId")),
	    "carol");
	json_decref(j);
	zgt_run_free(&r);
}

static void
unreachable_server_exit_3(void **state)
{
	zgt_daemon nowhere = daemon_under_test;
	snprintf(nowhere.base_url, sizeof(nowhere.base_url),
	    "http://127.0.0.1:%u", zgt_free_port());
	const char *args[] = {"cred", "list", NULL};
	zgt_run r = cli_as(&nowhere, args, NULL);
	assert_int_equal(r.rc, 3);
	assert_true(strlen(r.err) > 0);
	zgt_run_free(&r);
}

static void
token_file_authenticates(void **state)
{
	char path[400];
	zgt_daemon no_env = daemon_under_test;
	no_env.token[0] = '\0';
	snprintf(path, sizeof(path), "%s/cli-token", daemon_under_test.root);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", daemon_under_test.token);
	assert_int_equal(fclose(f), 0);

	const char *with_file[] = {"cred", "list", "--token-file", path, NULL};
	zgt_run r = cli_as(&no_env, with_file, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "ID"));
	zgt_run_free(&r);

	/* With no token at all the client stops before sending anything. */
	const char *without[] = {"cred", "list", NULL};
	r = cli_as(&no_env, without, NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--token-file"));
	zgt_run_free(&r);

	char missing[420];
	snprintf(missing, sizeof(missing), "%s/no-such-token-file", daemon_under_test.root);
	const char *bad_file[] = {"cred", "list", "--token-file", missing, NULL};
	r = cli_as(&no_env, bad_file, NULL);
	assert_int_equal(r.rc, 3);
	zgt_run_free(&r);
}

int
main(void)
{
	seed = zgt_seed("test_cli_e2e");
	srand(seed);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_prints_id),
		cmocka_unit_test(get_prints_value),
		cmocka_unit_test(list_shows_credential),
		cmocka_unit_test(rotate_keeps_old_version),
		cmocka_unit_test(lease_redeems_once),
		cmocka_unit_test(revoked_credential_not_readable),
		cmocka_unit_test(token_create_and_revoke),
		cmocka_unit_test(json_output_parses),
		cmocka_unit_test(unreachable_server_exit_3),
		cmocka_unit_test(token_file_authenticates),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
