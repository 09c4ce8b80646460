/*
 * The `zguard policy`, `stop`, `limits` and `txreq` commands against the
 * real daemon. Each test puts a policy with a daily limit and an approval
 * rule on a new key. The tests cover evaluation, the limit's use after a
 * signature, a request approved by a second user and released, an
 * emergency stop created and lifted, and bad command lines.
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

/* Amounts in wei: the daily limit, and values below and above the rule
 * that requires an approval from 1.5 ether on. */
#define DAILY_MAX "3000000000000000000"
#define ONE_ETHER "1000000000000000000"
#define TWO_ETHER "2000000000000000000"
#define FOUR_ETHER "4000000000000000000"

static unsigned seed;
static unsigned name_counter;
static zgt_daemon daemon_under_test;
static zgt_daemon as_approver;   /* the daemon with the approver's token */
static char approver_role[64];

static zgt_run
cli(const char *const *args, const char *stdin_text)
{
	return zgt_cli(&daemon_under_test, args, stdin_text);
}


static void
unique_name(const char *prefix, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s-%u-%u", prefix, seed % 100000,
	    name_counter++);
}

/* Creates a secp256k1 key with `zguard key create` and stores its id. */
static void
create_key(char *id)
{
	const char *args[] = {"key", "create", "--algorithm", "secp256k1",
	    NULL};
	zgt_run r = cli(args, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "id", id, 64));
	zgt_run_free(&r);
}

/*
 * Puts policy name on key: transfers of 1.5 ether or more need one
 * approval from the approver role, the rest are allowed, and the key may
 * spend DAILY_MAX a day.
 */
static void
put_policy(const char *name, const char *key)
{
	char body[1024], value[64];
	snprintf(body, sizeof(body), "{\"keys\":{\"ids\":[\"%s\"]},"
	    "\"rules\":[{\"name\":\"big\",\"match\":{\"value\":{\"min\":"
	    "\"1500000000000000000\"}},\"action\":\"require_approval\","
	    "\"approval\":{\"count\":1,\"fromRole\":\"%s\"}},"
	    "{\"name\":\"rest\",\"action\":\"allow\"}],"
	    "\"limits\":[{\"name\":\"daily\",\"scope\":\"key\",\"asset\":"
	    "\"native\",\"window\":{\"type\":\"day\"},\"max\":\"" DAILY_MAX
	    "\"}]}", key, approver_role);
	const char *put[] = {"policy", "put", name, NULL};
	zgt_run r = cli(put, body);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "status", value, sizeof(value)));
	assert_string_equal(value, "created");
	assert_true(zgt_output_field(r.out, "warnings", value, sizeof(value)));
	assert_string_equal(value, "0");
	zgt_run_free(&r);
}

/* Writes an EIP-1559 transfer of value wei into out. */
static void
transfer(const char *value, char *out, size_t outsz)
{
	snprintf(out, outsz, "{\"type\":2,\"chainId\":\"1\",\"nonce\":\"0\","
	    "\"maxFeePerGas\":\"30000000000\",\"maxPriorityFeePerGas\":"
	    "\"1000000000\",\"gas\":\"21000\",\"to\":"
	    "\"0x3535353535353535353535353535353535353535\",\"value\":\"%s\"}",
	    value);
}

/* Runs `zguard key sign-tx KEY --json` on a transfer of value wei. */
static zgt_run
sign_transfer(const char *key, const char *value)
{
	char tx[512];
	transfer(value, tx, sizeof(tx));
	const char *args[] = {"key", "sign-tx", key, "--json", NULL};
	return cli(args, tx);
}

/*
 * Parses text into *j, which the caller frees, and returns its string
 * member name, or NULL.
 */
static const char *
json_member(const char *text, const char *name, json_t **j)
{
	*j = json_loads(text, 0, NULL);
	return json_string_value(json_object_get(*j, name));
}

/* Returns the `zguard limits --json` item of policy, or NULL. */
static json_t *
limit_item(const char *policy)
{
	const char *args[] = {"limits", "--json", NULL};
	zgt_run r = cli(args, NULL);
	assert_int_equal(r.rc, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	zgt_run_free(&r);
	assert_non_null(j);
	json_t *found = NULL, *item;
	size_t i;
	json_array_foreach(json_object_get(j, "items"), i, item) {
		const char *p = json_string_value(json_object_get(item,
		    "policy"));
		if (p != NULL && strcmp(p, policy) == 0)
			found = json_incref(item);
	}
	json_decref(j);
	return found;
}

/* Asserts the amount used, in wei, of the policy's daily limit. */
static void
assert_used(const char *policy, const char *used)
{
	json_t *item = limit_item(policy);
	assert_non_null(item);
	assert_string_equal(json_string_value(json_object_get(item, "used")),
	    used);
	json_decref(item);
}

static int
setup(void **state)
{
	char body[300], token[128];
	seed = zgt_seed("test_cli_txpolicy");
	if (zgt_daemon_start(&daemon_under_test, NULL) != 0)
		return -1;

	unique_name("tx-approver", approver_role, sizeof(approver_role));
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"permissions\":"
	    "[{\"resource\":\"tx-requests/*\",\"actions\":[\"read\","
	    "\"approve\",\"reject\"]}]}", approver_role);
	const char *role[] = {"role", "create", NULL};
	zgt_run r = cli(role, body);
	int rc = r.rc;
	zgt_run_free(&r);

	const char *create[] = {"token", "create", "--user", "bob", "--json",
	    NULL};
	r = cli(create, NULL);
	json_t *j = NULL;
	const char *t = r.rc == 0 ? json_member(r.out, "token", &j) : NULL;
	snprintf(token, sizeof(token), "%s", t != NULL ? t : "");
	json_decref(j);
	rc |= r.rc;
	zgt_run_free(&r);
	as_approver = daemon_under_test;
	snprintf(as_approver.token, sizeof(as_approver.token), "%s", token);

	const char *grant[] = {"grant", "add", "bob", approver_role, NULL};
	r = cli(grant, NULL);
	rc |= r.rc;
	zgt_run_free(&r);
	return rc == 0 && token[0] != '\0' ? 0 : -1;
}

/* Fails the group when the daemon did not stop cleanly or logged an error. */
static int
teardown(void **state)
{
	int rc = zgt_daemon_stop(&daemon_under_test);
	bool bad = zgt_log_has_errors(&daemon_under_test);
	if (rc != 0 || bad)
		printf("daemon exit %d, log errors %d; log in %s\n", rc, bad,
		    daemon_under_test.log_path);
	else
		zgt_daemon_cleanup(&daemon_under_test);
	return rc != 0 || bad ? -1 : 0;
}

static void
policy_put_list_show(void **state)
{
	char key[64], name[64], value[128];
	create_key(key);
	unique_name("treasury", name, sizeof(name));
	put_policy(name, key);

	const char *list[] = {"policy", "list", NULL};
	zgt_run r = cli(list, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "NAME"));
	assert_non_null(strstr(r.out, name));
	assert_non_null(strstr(r.out, key));
	zgt_run_free(&r);

	const char *show[] = {"policy", "show", name, NULL};
	r = cli(show, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "name", value, sizeof(value)));
	assert_string_equal(value, name);
	assert_non_null(strstr(r.out, "require_approval"));
	assert_non_null(strstr(r.out, approver_role));
	assert_non_null(strstr(r.out, "rest"));
	assert_non_null(strstr(r.out, "daily"));
	assert_non_null(strstr(r.out, DAILY_MAX));
	zgt_run_free(&r);

	const char *show_json[] = {"policy", "show", name, "--json", NULL};
	r = cli(show_json, NULL);
	assert_int_equal(r.rc, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "rules")), 2);
	json_decref(j);
	zgt_run_free(&r);
}

static void
policy_put_replaces_and_deletes(void **state)
{
	char key[64], name[64], value[64];
	create_key(key);
	unique_name("replace", name, sizeof(name));
	put_policy(name, key);

	char body[200];
	snprintf(body, sizeof(body), "{\"keys\":{\"ids\":[\"%s\"]},\"rules\":"
	    "[{\"name\":\"all\",\"action\":\"allow\"}]}", key);
	const char *put[] = {"policy", "put", name, NULL};
	zgt_run r = cli(put, body);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "status", value, sizeof(value)));
	assert_string_equal(value, "replaced");
	zgt_run_free(&r);

	const char *del[] = {"policy", "delete", name, NULL};
	r = cli(del, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "deleted", value, sizeof(value)));
	assert_string_equal(value, "true");
	zgt_run_free(&r);

	const char *show[] = {"policy", "show", name, NULL};
	r = cli(show, NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "not found"));
	zgt_run_free(&r);
}

static void
policy_put_warnings_on_stderr(void **state)
{
	char name[64], value[64];
	unique_name("empty", name, sizeof(name));
	const char *put[] = {"policy", "put", name, NULL};
	zgt_run r = cli(put, "{}");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.err, "zguard: warning: "));
	assert_non_null(strstr(r.err, "covers no key"));
	assert_non_null(strstr(r.err, "no rules"));
	assert_null(strstr(r.out, "warning:"));
	assert_true(zgt_output_field(r.out, "warnings", value, sizeof(value)));
	assert_string_equal(value, "2");
	zgt_run_free(&r);
}

static void
policy_evaluate_decisions(void **state)
{
	char key[64], name[64], tx[512], value[128];
	create_key(key);
	unique_name("evaluate", name, sizeof(name));
	put_policy(name, key);
	const char *evaluate[] = {"policy", "evaluate", key, NULL};

	transfer(ONE_ETHER, tx, sizeof(tx));
	zgt_run r = cli(evaluate, tx);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "decision", value, sizeof(value)));
	assert_string_equal(value, "allow");
	assert_true(zgt_output_field(r.out, "rule", value, sizeof(value)));
	assert_string_equal(value, "rest");
	assert_true(zgt_output_field(r.out, "policy", value, sizeof(value)));
	assert_string_equal(value, name);
	zgt_run_free(&r);

	transfer(TWO_ETHER, tx, sizeof(tx));
	r = cli(evaluate, tx);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "decision", value, sizeof(value)));
	assert_string_equal(value, "require_approval");
	assert_true(zgt_output_field(r.out, "rule", value, sizeof(value)));
	assert_string_equal(value, "big");
	zgt_run_free(&r);

	/* Above the daily limit: the limit turns the decision into block. */
	transfer(FOUR_ETHER, tx, sizeof(tx));
	r = cli(evaluate, tx);
	assert_int_equal(r.rc, 1);
	assert_true(zgt_output_field(r.out, "decision", value, sizeof(value)));
	assert_string_equal(value, "block");
	assert_true(zgt_output_field(r.out, "limit-exceeded", value, sizeof(value)));
	assert_string_equal(value, "true");
	zgt_run_free(&r);

	/* The payload-field form, with a workflow id, decides the same. */
	char body[600];
	transfer(ONE_ETHER, tx, sizeof(tx));
	snprintf(body, sizeof(body), "{\"transaction\":%s}", tx);
	const char *with_wf[] = {"policy", "evaluate", key, "--workflow-id",
	    "wf-1", "--json", NULL};
	r = cli(with_wf, body);
	assert_int_equal(r.rc, 0);
	json_t *j;
	const char *decision = json_member(r.out, "decision", &j);
	assert_non_null(decision);
	assert_string_equal(decision, "allow");
	json_decref(j);
	zgt_run_free(&r);
}

static void
limits_show_use_after_sign(void **state)
{
	char key[64], name[64];
	create_key(key);
	unique_name("limits", name, sizeof(name));
	put_policy(name, key);
	assert_used(name, "0");

	zgt_run r = sign_transfer(key, ONE_ETHER);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "rawTransaction"));
	zgt_run_free(&r);

	const char *limits[] = {"limits", NULL};
	r = cli(limits, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "REMAINING"));
	const char *row = strstr(r.out, name);
	assert_non_null(row);
	char line[512];
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(row, "\n"), row);
	assert_non_null(strstr(line, key));
	assert_non_null(strstr(line, "native"));
	assert_non_null(strstr(line, ONE_ETHER));
	assert_non_null(strstr(line, TWO_ETHER));
	zgt_run_free(&r);
}

static void
txreq_approve_by_other_user(void **state)
{
	char key[64], name[64], id[64], value[256];
	create_key(key);
	unique_name("approve", name, sizeof(name));
	put_policy(name, key);

	zgt_run r = sign_transfer(key, TWO_ETHER);
	assert_int_equal(r.rc, 0);
	json_t *j;
	const char *status = json_member(r.out, "status", &j);
	assert_non_null(status);
	assert_string_equal(status, "pending_approval");
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j,
	    "requestId")));
	json_decref(j);
	zgt_run_free(&r);
	assert_used(name, "0");

	const char *show[] = {"txreq", "show", id, NULL};
	r = cli(show, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "status", value, sizeof(value)));
	assert_string_equal(value, "pending_approval");
	assert_true(zgt_output_field(r.out, "from-role", value, sizeof(value)));
	assert_string_equal(value, approver_role);
	zgt_run_free(&r);

	/* The requester cannot approve its own request. */
	const char *approve[] = {"txreq", "approve", id, NULL};
	r = cli(approve, NULL);
	assert_int_equal(r.rc, 1);
	zgt_run_free(&r);

	r = zgt_cli(&as_approver, approve, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "status", value, sizeof(value)));
	assert_string_equal(value, "signed");
	assert_true(zgt_output_field(r.out, "approved-by", value, sizeof(value)));
	assert_string_equal(value, "[\"bob\"]");
	assert_true(zgt_output_field(r.out, "raw-transaction", value, sizeof(value)));
	assert_memory_equal(value, "0x02", 4);
	zgt_run_free(&r);
	assert_used(name, TWO_ETHER);

	/* The transaction is never broadcast, so its reservation goes back. */
	const char *release[] = {"txreq", "release", id, NULL};
	r = cli(release, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "status", value, sizeof(value)));
	assert_string_equal(value, "released");
	zgt_run_free(&r);
	assert_used(name, "0");

	r = cli(release, NULL);
	assert_int_equal(r.rc, 1);
	zgt_run_free(&r);
}

static void
txreq_reject_with_reason(void **state)
{
	char key[64], name[64], id[64], value[256];
	create_key(key);
	unique_name("reject", name, sizeof(name));
	put_policy(name, key);

	zgt_run r = sign_transfer(key, TWO_ETHER);
	assert_int_equal(r.rc, 0);
	json_t *j;
	const char *request_id = json_member(r.out, "requestId", &j);
	assert_non_null(request_id);
	snprintf(id, sizeof(id), "%s", request_id);
	json_decref(j);
	zgt_run_free(&r);

	const char *reject[] = {"txreq", "reject", id, "--reason",
	    "wrong amount", NULL};
	r = zgt_cli(&as_approver, reject, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "status", value, sizeof(value)));
	assert_string_equal(value, "rejected");
	assert_non_null(strstr(r.out, "wrong amount"));
	zgt_run_free(&r);

	const char *approve[] = {"txreq", "approve", id, NULL};
	r = zgt_cli(&as_approver, approve, NULL);
	assert_int_equal(r.rc, 1);
	zgt_run_free(&r);
}

static void
stop_create_and_lift(void **state)
{
	char key[64], name[64], id[64], value[256], tx[512];
	create_key(key);
	unique_name("stop", name, sizeof(name));
	put_policy(name, key);

	const char *create[] = {"stop", "create", "--key", key, "--reason",
	    "incident drill", NULL};
	zgt_run r = cli(create, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "id", id, sizeof(id)));
	assert_memory_equal(id, "stop_", 5);
	assert_true(zgt_output_field(r.out, "scope", value, sizeof(value)));
	assert_non_null(strstr(value, key));
	zgt_run_free(&r);

	const char *list[] = {"stop", "list", NULL};
	r = cli(list, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, id));
	assert_non_null(strstr(r.out, "incident drill"));
	zgt_run_free(&r);

	r = sign_transfer(key, ONE_ETHER);
	assert_int_equal(r.rc, 1);
	zgt_run_free(&r);

	const char *evaluate[] = {"policy", "evaluate", key, NULL};
	transfer(ONE_ETHER, tx, sizeof(tx));
	r = cli(evaluate, tx);
	assert_int_equal(r.rc, 1);
	assert_true(zgt_output_field(r.out, "emergency-stop", value, sizeof(value)));
	assert_string_equal(value, "true");
	zgt_run_free(&r);

	const char *lift[] = {"stop", "lift", id, "--reason",
	    "drill over & done", NULL};
	r = cli(lift, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "lift-reason", value, sizeof(value)));
	assert_string_equal(value, "drill over & done");
	zgt_run_free(&r);

	r = cli(list, NULL);
	assert_int_equal(r.rc, 0);
	assert_null(strstr(r.out, id));
	zgt_run_free(&r);

	r = sign_transfer(key, ONE_ETHER);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);
}

static void
bad_command_lines_exit_2(void **state)
{
	static const struct {
		const char *args[8];
		const char *message;
	} cases[] = {
		{{"policy", "show", NULL}, "missing policy NAME"},
		{{"policy", "put", NULL}, "missing policy NAME"},
		{{"policy", "delete", NULL}, "missing policy NAME"},
		{{"policy", "evaluate", NULL}, "missing KEY_ID"},
		{{"policy", "show", "..", NULL}, "invalid policy name"},
		{{"policy", "evaluate", "key/../x", NULL}, "invalid id"},
		{{"stop", "create", "--reason", "x", NULL}, "exactly one of"},
		{{"stop", "create", "--all", "--key", "k", "--reason", "x",
		    NULL}, "exactly one of"},
		{{"stop", "create", "--all", NULL}, "missing --reason"},
		{{"stop", "lift", NULL}, "missing stop ID"},
		{{"stop", "lift", "stop_000000000000000000000000", NULL},
		    "missing --reason"},
		{{"stop", "lift", "stop_1", "--reason", "x", NULL},
		    "invalid stop id"},
		{{"txreq", "approve", NULL}, "missing request ID"},
		{{"txreq", "show", "txr_../x", NULL}, "invalid request id"},
		{{"txreq", "reject", "txr_000000000000000000000000",
		    "--reason", "", NULL}, "invalid --reason"},
		{{"limits", "extra", NULL}, "unexpected argument"},
		{{"policy", "frobnicate", NULL}, "unknown policy subcommand"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		zgt_run r = cli(cases[i].args, NULL);
		if (r.rc != 2 || strstr(r.err, cases[i].message) == NULL)
			printf("case %zu: exit %d, stderr: %s\n", i, r.rc,
			    r.err);
		assert_int_equal(r.rc, 2);
		assert_non_null(strstr(r.err, cases[i].message));
		zgt_run_free(&r);
	}
}

static void
unknown_key_id_rejected(void **state)
{
	char tx[512];
	transfer(ONE_ETHER, tx, sizeof(tx));
	const char *evaluate[] = {"policy", "evaluate",
	    "key_000000000000000000000000", NULL};
	zgt_run r = cli(evaluate, tx);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "not found"));
	zgt_run_free(&r);

	const char *stop[] = {"stop", "create", "--key",
	    "key_000000000000000000000000", "--reason", "x", NULL};
	r = cli(stop, NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "not found"));
	zgt_run_free(&r);
}

static void
policy_file_not_json(void **state)
{
	char path[400], name[64];
	unique_name("file", name, sizeof(name));
	snprintf(path, sizeof(path), "%s/policy.yaml", daemon_under_test.root);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("rules:\n  - name: all\n    action: allow\n", f);
	fclose(f);

	const char *put[] = {"policy", "put", name, "--file", path, NULL};
	zgt_run r = cli(put, NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "not valid JSON"));
	assert_non_null(strstr(r.err, path));
	zgt_run_free(&r);

	const char *show[] = {"policy", "show", name, NULL};
	r = cli(show, NULL);
	assert_int_equal(r.rc, 1);
	zgt_run_free(&r);
}

/* simulate-tx on a chain without an [rpc] endpoint names the setting. */
static void
simulate_without_endpoint(void **state)
{
	char key[64];
	create_key(key);
	const char *args[] = {"key", "simulate-tx", key, NULL};
	zgt_run r = cli(args, "{\"chainId\":\"1337\",\"type\":2,"
	    "\"nonce\":\"0\",\"to\":"
	    "\"0x3535353535353535353535353535353535353535\",\"value\":\"1\","
	    "\"gas\":\"21000\",\"maxFeePerGas\":\"2000000000\","
	    "\"maxPriorityFeePerGas\":\"1000000000\"}");
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "[rpc]"));
	zgt_run_free(&r);
}

static void
policy_amount_as_number_rejected(void **state)
{
	char name[64];
	unique_name("float", name, sizeof(name));
	const char *put[] = {"policy", "put", name, NULL};
	zgt_run r = cli(put, "{\"limits\":[{\"name\":\"d\",\"scope\":\"key\","
	    "\"asset\":\"native\",\"window\":{\"type\":\"day\"},"
	    "\"max\":1e18}]}");
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "limits[0].max"));
	assert_non_null(strstr(r.err, "decimal strings"));
	zgt_run_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(policy_put_list_show),
		cmocka_unit_test(policy_put_replaces_and_deletes),
		cmocka_unit_test(policy_put_warnings_on_stderr),
		cmocka_unit_test(policy_evaluate_decisions),
		cmocka_unit_test(limits_show_use_after_sign),
		cmocka_unit_test(txreq_approve_by_other_user),
		cmocka_unit_test(txreq_reject_with_reason),
		cmocka_unit_test(stop_create_and_lift),
		cmocka_unit_test(bad_command_lines_exit_2),
		cmocka_unit_test(unknown_key_id_rejected),
		cmocka_unit_test(policy_file_not_json),
		cmocka_unit_test(policy_amount_as_number_rejected),
		cmocka_unit_test(simulate_without_endpoint),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
