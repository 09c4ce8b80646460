/*
 * The audit log across restarts: a crash before the first tree head, and a
 * log altered while the daemon was stopped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "zgtest.h"

/* Records n platform events; returns how many got 201. */
static int
record_events(const zgt_daemon *d, int n)
{
	int ok = 0;
	for (int i = 0; i < n; i++) {
		zgt_resp r;
		assert_int_equal(zgt_http(d, "POST", "/v1/audit/events", d->token,
		    "{\"eventType\":\"workflow_execution\",\"resource\":"
		    "\"workflow:7\",\"action\":\"run\",\"success\":true}", &r), 0);
		if (r.status == 201)
			ok++;
		zgt_resp_free(&r);
	}
	return ok;
}

/* Returns the treeSize of GET /v1/audit/tree-head, or -1 with its status. */
static long long
tree_head_size(const zgt_daemon *d, long *status)
{
	zgt_resp r;
	long long size = -1;
	assert_int_equal(zgt_http(d, "GET", "/v1/audit/tree-head", d->token,
	    NULL, &r), 0);
	*status = r.status;
	if (r.status == 200)
		size = json_integer_value(json_object_get(r.json, "treeSize"));
	zgt_resp_free(&r);
	return size;
}

static int
run_verify(const zgt_daemon *d)
{
	const char *args[] = {"audit", "verify", "--data", d->data, NULL};
	char *out = NULL, *err = NULL;
	int rc = zgt_run_bin(d->root, args, NULL, 60, &out, &err);
	printf("verify exit %d: %s%s", rc, out ? out : "", err ? err : "");
	free(out);
	free(err);
	return rc;
}

static void
crash_before_first_head(void **state)
{
	zgt_daemon d;
	long status;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	assert_int_equal(record_events(&d, 20), 20);
	/* The default interval is 10 s, so no head is signed yet. */
	zgt_daemon_kill9(&d);
	assert_int_equal(zgt_daemon_restart(&d), 0);
	/* The restarted daemon signs the events it found at start. */
	assert_true(tree_head_size(&d, &status) >= 20);
	assert_int_equal(status, 200);
	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_int_equal(run_verify(&d), 0);
	zgt_daemon_cleanup(&d);
}

static void
altered_log_freezes_heads(void **state)
{
	zgt_daemon d;
	char path[400];
	sqlite3 *db = NULL;
	long status;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	assert_int_equal(record_events(&d, 10), 10);
	assert_true(tree_head_size(&d, &status) >= 10);
	assert_int_equal(zgt_daemon_stop(&d), 0);

	/* Change the latest head's root, as if the log under it had been
	 * rewritten: the tree the daemon loads no longer matches it. */
	snprintf(path, sizeof(path), "%s/zguard.db", d.data);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE audit_heads SET root = "
	    "zeroblob(32) WHERE tree_size = (SELECT max(tree_size) FROM "
	    "audit_heads)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);

	assert_int_equal(zgt_daemon_restart(&d), 0);
	assert_int_equal(tree_head_size(&d, &status), -1);
	assert_int_equal(status, 500);
	/* Audited operations go on; only new heads are withheld. */
	assert_int_equal(record_events(&d, 3), 3);
	assert_int_equal(zgt_daemon_stop(&d), 0);
	char *log = zgt_read_file(d.log_path, NULL);
	assert_non_null(log);
	assert_non_null(strstr(log, "does not match its latest signed tree "
	    "head"));
	free(log);
	assert_int_equal(run_verify(&d), 1);
	zgt_daemon_cleanup(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crash_before_first_head),
		cmocka_unit_test(altered_log_freezes_heads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
