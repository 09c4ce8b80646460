/*
 * Tests of `zguard audit verify` and `zguard audit export` as a user runs
 * them: the commands run in process through zg_cli_main on a data
 * directory written by the library, and exports are checked offline,
 * intact and altered. The last case measures verification throughput.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "audit/verify.h"
#include "base/codec.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "zgtest.h"

#define LOG_EVENTS 50
#define OUT_MAX 65536

/* Events of the throughput case, unless ZG_VERIFY_BENCH_EVENTS is set. */
#define BENCH_EVENTS 20000

static char out_text[OUT_MAX];
static char err_text[OUT_MAX];

struct fixture {
	char dir[256];           /* data directory */
	char events[300];        /* export paths beside it */
	char head[300];
	uint8_t pub[ZG_ED25519_PUB_LEN];
	char pub_hex[2 * ZG_ED25519_PUB_LEN + 1];
};

static void
remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[600];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void
read_capture(FILE *f, char *text)
{
	rewind(f);
	size_t n = fread(text, 1, OUT_MAX - 1, f);
	text[n] = '\0';
	fclose(f);
}

/* Runs zg_cli_main on a NULL-terminated list; output in out_text, err_text. */
static int
run(const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = strdup("zguard");
	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(argc < 31);
		argv[argc++] = strdup(a);
	}
	va_end(ap);
	argv[argc] = NULL;

	FILE *out = tmpfile(), *err = tmpfile();
	assert_non_null(out);
	assert_non_null(err);
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(1), saved_err = dup(2);
	dup2(fileno(out), 1);
	dup2(fileno(err), 2);
	int rc = zg_cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	read_capture(out, out_text);
	read_capture(err, err_text);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

struct node_list {
	zg_merkle_node_row rows[4096];
	size_t n;
};

static zg_err
collect_node(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
	struct node_list *l = ctx;
	assert_true(l->n < 4096);
	l->rows[l->n].level = level;
	l->rows[l->n].index = index;
	memcpy(l->rows[l->n].hash, hash, 32);
	l->n++;
	return ZG_OK;
}

/*
 * Appends n events straight through the store in batches of 1000, the way
 * the writer does, which is much faster than zg_audit_record one by one.
 * Every third event has a personal field.
 */
static void
bulk_append(zg_store *st, zg_keyring *kr, uint64_t n)
{
	struct zg_merkle_frontier f;
	struct node_list *nodes = calloc(1, sizeof(*nodes));
	zg_audit_append_row *rows = calloc(1000, sizeof(*rows));
	zg_buf *bufs = calloc(1000, sizeof(*bufs));
	json_t *meta = json_pack("{s:s}", "source", "bulk");
	size_t k = 0;

	assert_non_null(meta);
	assert_non_null(nodes);
	assert_non_null(rows);
	assert_non_null(bufs);
	zg_merkle_frontier_init(&f);
	for (uint64_t i = 0; i < n; i++) {
		char resource[32];
		uint8_t leaf[32];
		zg_audit_event ev;

		memset(&ev, 0, sizeof(ev));
		snprintf(ev.event_id, sizeof(ev.event_id), "evt_%016llx",
		    (unsigned long long)i);
		snprintf(resource, sizeof(resource), "cred_%llu",
		    (unsigned long long)i);
		ev.timestamp = zg_time_now_us();
		ev.user_id = "alice";
		ev.event_type = "credential_access";
		ev.resource = resource;
		ev.action = "read";
		ev.success = true;
		ev.ip_address = i % 3 == 0 ? "192.0.2.1" : NULL;
		/*
		 * NOTE: zg_audit_encode leaks an empty JSON object when an
		 * event has personal fields but no metadata, so each event
		 * with an address gets metadata too.
		 */
		ev.metadata = i % 3 == 0 ? meta : NULL;
		assert_int_equal(zg_audit_encode(kr, st, &ev, &bufs[k]), ZG_OK);
		rows[k].leaf_index = i;
		rows[k].canonical = bufs[k].data;
		rows[k].canonical_len = bufs[k].len;
		rows[k].timestamp = ev.timestamp;
		assert_int_equal(zg_merkle_leaf_hash(bufs[k].data, bufs[k].len,
		    leaf), ZG_OK);
		assert_int_equal(zg_merkle_frontier_append(&f, leaf,
		    collect_node, nodes), ZG_OK);
		k++;
		if (k == 1000 || i + 1 == n) {
			assert_int_equal(st->ops->audit_append(st, rows, k,
			    nodes->rows, nodes->n), ZG_OK);
			for (size_t j = 0; j < k; j++)
				zg_buf_free(&bufs[j]);
			k = 0;
			nodes->n = 0;
		}
	}
	json_decref(meta);
	free(nodes);
	free(rows);
	free(bufs);
}

/*
 * Writes a log of n events into dir and signs one head over all of them,
 * with record (zg_audit_record, one by one) or in bulk.
 */
static void
write_log(const char *dir, uint64_t n, bool record, uint8_t pub[32])
{
	zg_store *st = NULL;
	zg_keyring *kr = NULL;
	zg_audit *a = NULL;
	zg_errmsg em = {0};
	zg_config cfg;
	zg_tree_head_row h;

	zg_config_defaults(&cfg);
	cfg.audit_tree_head_interval_s = 3600;
	assert_int_equal(zg_store_sqlite_open(dir, &st), ZG_OK);
	assert_int_equal(zg_keyring_open(st, dir, ZG_SEAL_KEYFILE, &kr, &em),
	    ZG_OK);
	if (!record)
		bulk_append(st, kr, n);
	assert_int_equal(zg_audit_open(st, kr, &cfg, &a, &em), ZG_OK);
	for (uint64_t i = 0; record && i < n; i++) {
		char resource[32];
		zg_audit_event ev;
		uint64_t index;
		json_t *meta = json_pack("{s:s}", "reason", "test");

		memset(&ev, 0, sizeof(ev));
		snprintf(resource, sizeof(resource), "cred_%04llu",
		    (unsigned long long)i);
		ev.user_id = "bob";
		ev.event_type = "credential_access";
		ev.resource = resource;
		ev.action = "read";
		ev.success = true;
		ev.ip_address = "198.51.100.4";
		ev.metadata = meta;
		assert_int_equal(zg_audit_record(a, &ev, &index), ZG_OK);
		json_decref(meta);
	}
	assert_int_equal(zg_audit_tree_head(a, true, &h), ZG_OK);
	assert_int_equal(h.tree_size, n);
	assert_int_equal(zg_audit_public_key(a, pub, NULL), ZG_OK);
	zg_audit_close(a);
	zg_keyring_close(kr);
	st->ops->close(st);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	zg_log_set_level(ZG_LOG_WARN);
	zgt_tempdir(f->dir, sizeof(f->dir));
	snprintf(f->events, sizeof(f->events), "%s/export.jsonl", f->dir);
	snprintf(f->head, sizeof(f->head), "%s/head.json", f->dir);
	write_log(f->dir, LOG_EVENTS, true, f->pub);
	zg_hex_encode(f->pub, sizeof(f->pub), f->pub_hex);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	remove_dir(f->dir);
	free(f);
	return 0;
}

/* Exports the fixture's log to f->events and f->head. */
static void
export_log(const struct fixture *f)
{
	assert_int_equal(run("audit", "export", "--data", f->dir, "--out",
	    f->events, "--tree-head", f->head, NULL), ZG_EXIT_OK);
}

/* Replaces the first occurrence of from with to (same length) in path. */
static void
edit_file(const char *path, const char *from, const char *to)
{
	size_t len = 0;
	char *text = zgt_read_file(path, &len);
	assert_non_null(text);
	char *p = strstr(text, from);
	assert_non_null(p);
	assert_int_equal(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	fwrite(text, 1, len, out);
	fclose(out);
	free(text);
}

/*
 * Changes one Base64 digit in the middle of the canonical member of the
 * export line of leafIndex index, so the bytes differ but still decode.
 */
static void
edit_canonical(const char *path, int index)
{
	char needle[64];
	size_t len = 0;
	char *text = zgt_read_file(path, &len);

	assert_non_null(text);
	snprintf(needle, sizeof(needle), "{\"leafIndex\":%d,", index);
	char *line = strstr(text, needle);
	assert_non_null(line);
	char *c = strstr(line, "\"canonical\":\"");
	assert_non_null(c);
	c += strlen("\"canonical\":\"") + 40;
	*c = *c == 'A' ? 'B' : 'A';
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	fwrite(text, 1, len, out);
	fclose(out);
	free(text);
}

/* Keeps only the lines of path for which keep(line number) is true. */
static void
filter_lines(const char *path, bool (*keep)(int line))
{
	size_t len = 0;
	char *text = zgt_read_file(path, &len);
	assert_non_null(text);
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	int line = 0;
	for (char *p = text, *nl; *p != '\0'; p = nl + 1, line++) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		if (keep(line))
			fwrite(p, 1, (size_t)(nl - p + 1), out);
	}
	fclose(out);
	free(text);
}

/* Runs zg_verify_export on the fixture's files with its public key. */
static void
verify_files(const struct fixture *f, zg_verify_report *r)
{
	size_t len = 0;
	char *text = zgt_read_file(f->head, &len);
	json_t *obj = json_loadb(text, len, 0, NULL);
	zg_tree_head_row head;
	uint8_t pub[32];
	bool has_pub = false;
	zg_errmsg em = {0};

	assert_int_equal(zg_verify_parse_head(obj, &head, pub, &has_pub, &em),
	    ZG_OK);
	assert_true(has_pub);
	assert_memory_equal(pub, f->pub, 32);
	FILE *in = fopen(f->events, "r");
	assert_non_null(in);
	assert_int_equal(zg_verify_export(in, f->events, &head, f->pub, r),
	    ZG_OK);
	fclose(in);
	json_decref(obj);
	free(text);
	if (r->failure != ZG_VERIFY_PASSED)
		print_message("verify: %s\n", r->message);
}

static void
audit_help_lists_commands(void **state)
{
	assert_int_equal(run("audit", "--help", NULL), ZG_EXIT_OK);
	assert_non_null(strstr(out_text, "verify"));
	assert_non_null(strstr(out_text, "export"));
	assert_int_equal(run("audit", "verify", "--help", NULL), ZG_EXIT_OK);
	assert_non_null(strstr(out_text, "1  verification failed"));
	assert_int_equal(run("audit", "export", "--help", NULL), ZG_EXIT_OK);
	assert_non_null(strstr(out_text, "--tree-head FILE"));
}

static void
verify_usage_errors(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(run("audit", "verify", NULL), ZG_EXIT_USAGE);
	assert_int_equal(run("audit", "verify", "--data", f->dir, "--events",
	    f->events, NULL), ZG_EXIT_USAGE);
	assert_int_equal(run("audit", "verify", "--data", f->dir,
	    "--public-key", "abcd", NULL), ZG_EXIT_IO);
	assert_int_equal(run("audit", "export", NULL), ZG_EXIT_USAGE);
	assert_int_equal(run("audit", "export", "--data", f->dir, "--from",
	    "-1", NULL), ZG_EXIT_USAGE);
}

static void
verify_data_passes(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(run("audit", "verify", "--data", f->dir, NULL),
	    ZG_EXIT_OK);
	assert_non_null(strstr(out_text, "audit log verified: 50 events, tree "
	    "heads checked: 1"));
	assert_int_equal(run("audit", "verify", "--data", f->dir,
	    "--public-key", f->pub_hex, "--quiet", NULL), ZG_EXIT_OK);
	assert_string_equal(out_text, "");
}

static void
verify_data_missing_dir_fails(void **state)
{
	assert_int_equal(run("audit", "verify", "--data", "/nonexistent/zg",
	    NULL), ZG_EXIT_IO);
	assert_non_null(strstr(err_text, "cannot open"));
}

static void
verify_data_tampered_fails(void **state)
{
	struct fixture *f = *state;
	char db[300];
	sqlite3 *h = NULL;

	snprintf(db, sizeof(db), "%s/zguard.db", f->dir);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "DELETE FROM audit_events WHERE "
	    "leaf_index=7", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(run("audit", "verify", "--data", f->dir, NULL),
	    ZG_EXIT_FAILED);
	assert_non_null(strstr(err_text, "event 7 is missing"));
}

static void
passphrase_vault_needs_key(void **state)
{
	char dir[256];
	zg_store *st = NULL;
	zg_errmsg em = {0};
	zg_argon2_params params = {1, 256, 1};
	const char *pass = "correct horse battery";

	zgt_tempdir(dir, sizeof(dir));
	assert_int_equal(zg_store_sqlite_open(dir, &st), ZG_OK);
	assert_int_equal(zg_keyring_init_passphrase(st, (const uint8_t *)pass,
	    strlen(pass), &params, &em), ZG_OK);
	st->ops->close(st);
	assert_int_equal(run("audit", "verify", "--data", dir, NULL),
	    ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "pass --public-key"));
	remove_dir(dir);
}

static void
export_round_trip_passes(void **state)
{
	struct fixture *f = *state;
	zg_verify_report r;

	export_log(f);
	verify_files(f, &r);
	assert_int_equal(r.failure, ZG_VERIFY_PASSED);
	assert_int_equal(r.events, LOG_EVENTS);
	assert_int_equal(run("audit", "verify", "--events", f->events,
	    "--tree-head", f->head, NULL), ZG_EXIT_OK);
	assert_non_null(strstr(err_text, "not pinned"));
	assert_int_equal(run("audit", "verify", "--events", f->events,
	    "--tree-head", f->head, "--public-key", f->pub_hex, NULL),
	    ZG_EXIT_OK);
	assert_null(strstr(err_text, "not pinned"));
	assert_non_null(strstr(out_text, "audit export verified: 50 events"));
}

static void
export_decrypts_personal_fields(void **state)
{
	struct fixture *f = *state;
	export_log(f);
	assert_true(zgt_file_contains(f->events, "198.51.100.4", 12));
	assert_true(zgt_file_contains(f->events, "\"personalData\": "
	    "\"available\"", 27) || zgt_file_contains(f->events,
	    "\"personalData\":\"available\"", 26));
}

static void
modified_export_field_fails(void **state)
{
	struct fixture *f = *state;
	zg_verify_report r;

	export_log(f);
	edit_file(f->events, "cred_0007", "cred_0999");
	verify_files(f, &r);
	assert_int_equal(r.failure, ZG_VERIFY_EVENT_FIELDS);
	assert_int_equal(r.index, 7);
	assert_int_equal(run("audit", "verify", "--events", f->events,
	    "--tree-head", f->head, "--public-key", f->pub_hex, NULL),
	    ZG_EXIT_FAILED);
	assert_non_null(strstr(err_text, "event 7"));
}

static void
modified_export_bytes_fail(void **state)
{
	struct fixture *f = *state;
	zg_verify_report r;

	export_log(f);
	edit_canonical(f->events, 7);
	verify_files(f, &r);
	assert_int_equal(r.failure, ZG_VERIFY_EVENT_MODIFIED);
	assert_int_equal(r.index, 7);
}

static bool
skip_line_7(int line)
{
	return line != 7;
}

static bool
first_20_lines(int line)
{
	return line < 20;
}

static void
deleted_export_line_fails(void **state)
{
	struct fixture *f = *state;
	zg_verify_report r;

	export_log(f);
	filter_lines(f->events, skip_line_7);
	verify_files(f, &r);
	assert_int_equal(r.failure, ZG_VERIFY_EVENT_MISSING);
	assert_int_equal(r.index, 7);
}

static void
truncated_export_fails(void **state)
{
	struct fixture *f = *state;
	zg_verify_report r;

	export_log(f);
	filter_lines(f->events, first_20_lines);
	verify_files(f, &r);
	assert_int_equal(r.failure, ZG_VERIFY_HEAD_BEYOND);
	assert_int_equal(r.index, LOG_EVENTS);
}

static void
partial_export_fails(void **state)
{
	struct fixture *f = *state;
	zg_verify_report r;

	assert_int_equal(run("audit", "export", "--data", f->dir, "--out",
	    f->events, "--tree-head", f->head, "--from", "10", NULL),
	    ZG_EXIT_OK);
	verify_files(f, &r);
	assert_int_equal(r.failure, ZG_VERIFY_EVENT_MISSING);
	assert_int_equal(r.index, 0);
}

static void
modified_tree_head_fails(void **state)
{
	struct fixture *f = *state;
	zg_verify_report r;

	export_log(f);
	edit_file(f->head, "\"treeSize\": 50", "\"treeSize\": 49");
	verify_files(f, &r);
	assert_int_equal(r.failure, ZG_VERIFY_HEAD_SIGNATURE);
	assert_int_equal(r.index, 49);
}

static void
verify_throughput(void **state)
{
	char dir[256];
	uint8_t pub[32];
	zg_store *st = NULL;
	zg_verify_report r;
	const char *env = getenv("ZG_VERIFY_BENCH_EVENTS");
	uint64_t n = env != NULL ? strtoull(env, NULL, 10) : BENCH_EVENTS;

	zgt_tempdir(dir, sizeof(dir));
	write_log(dir, n, false, pub);
	assert_int_equal(zg_store_sqlite_open_readonly(dir, &st), ZG_OK);
	int64_t start = zg_time_mono_us();
	assert_int_equal(zg_verify_store(st, pub, NULL, NULL, &r), ZG_OK);
	int64_t took = zg_time_mono_us() - start;
	st->ops->close(st);
	assert_int_equal(r.failure, ZG_VERIFY_PASSED);
	assert_int_equal(r.events, n);
	print_message("verified %llu events in %.3f s: %.0f events/s\n",
	    (unsigned long long)n, (double)took / 1e6,
	    (double)n * 1e6 / (double)(took > 0 ? took : 1));
	remove_dir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(audit_help_lists_commands),
		T(verify_usage_errors),
		T(verify_data_passes),
		T(verify_data_missing_dir_fails),
		T(verify_data_tampered_fails),
		T(passphrase_vault_needs_key),
		T(export_round_trip_passes),
		T(export_decrypts_personal_fields),
		T(modified_export_field_fails),
		T(modified_export_bytes_fail),
		T(deleted_export_line_fails),
		T(truncated_export_fails),
		T(partial_export_fails),
		T(modified_tree_head_fails),
		cmocka_unit_test(verify_throughput),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
