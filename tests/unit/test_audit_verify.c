/*
 * Tests of audit log verification (audit/verify.c) on a real log.
 *
 * The group setup writes a log of LOG_EVENTS events through the library
 * (store, keyring, zg_audit_record) with tree heads signed at HEAD_SIZES.
 * Each test copies that data directory and tampers with the copy through
 * the sqlite3 C API, as an attacker with write access to the database
 * could. It then checks that verification reports the first bad index and
 * the right kind of failure without crashing.
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
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "audit/verify.h"
#include "base/timeutil.h"
#include "zgtest.h"

#define LOG_EVENTS 300

/* The sizes at which the setup signs a head; closing signs LOG_EVENTS. */
static const uint64_t head_sizes[] = {60, 100, 200};

static char template_dir[256];
static uint8_t audit_pub[ZG_ED25519_PUB_LEN];

/* Copies every regular file of src into the new directory dst. */
static void
copy_dir(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char from[600], to[600];
		struct stat sb;
		snprintf(from, sizeof(from), "%s/%s", src, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", dst, e->d_name);
		if (stat(from, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		size_t len = 0;
		char *data = zgt_read_file(from, &len);
		assert_non_null(data);
		FILE *f = fopen(to, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(data, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(chmod(to, sb.st_mode & 0777), 0);
		free(data);
	}
	closedir(d);
}

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

/* Records event i: every third one has personal fields. */
static void
record_event(zg_audit *a, uint64_t i)
{
	char resource[64], user[32];
	zg_audit_event ev;
	uint64_t index = 0;
	json_t *meta = json_pack("{s:I}", "n", (json_int_t)i);

	memset(&ev, 0, sizeof(ev));
	snprintf(resource, sizeof(resource), "cred_%04llu",
	    (unsigned long long)i);
	snprintf(user, sizeof(user), "user%llu", (unsigned long long)(i % 7));
	ev.user_id = user;
	ev.session_id = "sess_1";
	ev.event_type = i % 2 ? "credential_access" : "data_access";
	ev.resource = resource;
	ev.action = "read";
	ev.success = i % 5 != 0;
	ev.request_id = "req_1";
	if (i % 3 == 0) {
		ev.ip_address = "192.0.2.7";
		ev.user_agent = "test-agent/1";
		ev.metadata = meta;
	}
	assert_int_equal(zg_audit_record(a, &ev, &index), ZG_OK);
	assert_int_equal(index, i);
	json_decref(meta);
}

/* Writes the template log; see the header comment. */
static int
group_setup(void **state)
{
	zg_store *st = NULL;
	zg_keyring *kr = NULL;
	zg_audit *a = NULL;
	zg_errmsg em = {0};
	zg_config cfg;
	zg_tree_head_row h;
	size_t next_head = 0;

	zg_log_set_level(ZG_LOG_WARN);
	zgt_tempdir(template_dir, sizeof(template_dir));
	zg_config_defaults(&cfg);
	cfg.audit_tree_head_interval_s = 3600; /* only the heads we ask for */
	if (zg_store_sqlite_open(template_dir, &st) != ZG_OK ||
	    zg_keyring_open(st, template_dir, ZG_SEAL_KEYFILE, &kr, &em) != ZG_OK ||
	    zg_audit_open(st, kr, &cfg, &a, &em) != ZG_OK)
		return -1;
	for (uint64_t i = 0; i < LOG_EVENTS; i++) {
		record_event(a, i);
		if (next_head < 3 && i + 1 == head_sizes[next_head]) {
			if (zg_audit_tree_head(a, true, &h) != ZG_OK ||
			    h.tree_size != head_sizes[next_head])
				return -1;
			next_head++;
		}
	}
	if (zg_audit_public_key(a, audit_pub, NULL) != ZG_OK)
		return -1;
	zg_audit_close(a);
	zg_keyring_close(kr);
	st->ops->close(st);
	return 0;
}

static int
group_teardown(void **state)
{
	remove_dir(template_dir);
	return 0;
}

/* A fresh copy of the template per test. */
struct copy {
	char dir[256];
	char db[300];
};

static int
setup(void **state)
{
	struct copy *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	zgt_tempdir(c->dir, sizeof(c->dir));
	snprintf(c->db, sizeof(c->db), "%s/zguard.db", c->dir);
	copy_dir(template_dir, c->dir);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct copy *c = *state;
	remove_dir(c->dir);
	free(c);
	return 0;
}

/* Runs SQL on the copy's database, as an attacker would. */
static void
tamper(const struct copy *c, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(c->db, &db), SQLITE_OK);
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("tampering SQL failed: %s: %s", sql, msg);
	sqlite3_close(db);
}

/* Reads the canonical bytes of event i into a malloc'd buffer. */
static uint8_t *
read_event(sqlite3 *db, uint64_t i, size_t *len)
{
	sqlite3_stmt *stmt = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT canonical FROM "
	    "audit_events WHERE leaf_index=?", -1, &stmt, NULL), SQLITE_OK);
	sqlite3_bind_int64(stmt, 1, (int64_t)i);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	*len = (size_t)sqlite3_column_bytes(stmt, 0);
	uint8_t *p = malloc(*len + 1);
	assert_non_null(p);
	memcpy(p, sqlite3_column_blob(stmt, 0), *len);
	sqlite3_finalize(stmt);
	return p;
}

static void
write_blob(sqlite3 *db, const char *sql, const void *blob, size_t len,
    int64_t a, int64_t b)
{
	sqlite3_stmt *stmt = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	sqlite3_bind_blob(stmt, 1, blob, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, a);
	if (sqlite3_bind_parameter_count(stmt) >= 3)
		sqlite3_bind_int64(stmt, 3, b);
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
}

static zg_err
store_node(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
	write_blob(ctx, "INSERT OR REPLACE INTO audit_nodes (hash, level, idx) "
	    "VALUES (?1, ?2, ?3)", hash, 32, level, (int64_t)index);
	return ZG_OK;
}

/*
 * Flips bit `bit` of byte `offset` of event i. With rehash, also stores
 * the new leaf hash and recomputes every stored node, as an attacker who
 * understands the tree layout could. Only the signatures stay unchanged.
 */
static void
flip_event(const struct copy *c, uint64_t i, size_t offset, unsigned bit,
    bool rehash)
{
	sqlite3 *db = NULL;
	size_t len = 0;

	assert_int_equal(sqlite3_open(c->db, &db), SQLITE_OK);
	uint8_t *p = read_event(db, i, &len);
	assert_true(offset < len);
	p[offset] ^= (uint8_t)(1u << bit);
	write_blob(db, "UPDATE audit_events SET canonical=?1 WHERE "
	    "leaf_index=?2", p, len, (int64_t)i, 0);
	free(p);
	if (rehash) {
		struct zg_merkle_frontier f;
		zg_merkle_frontier_init(&f);
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		for (uint64_t j = 0; j < LOG_EVENTS; j++) {
			uint8_t leaf[32];
			uint8_t *e = read_event(db, j, &len);
			assert_int_equal(zg_merkle_leaf_hash(e, len, leaf), ZG_OK);
			assert_int_equal(zg_merkle_frontier_append(&f, leaf,
			    store_node, db), ZG_OK);
			free(e);
		}
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	sqlite3_close(db);
}

/* Verifies the copy with the log's public key. */
static void
verify_copy(const struct copy *c, zg_verify_report *r)
{
	zg_store *st = NULL;
	assert_int_equal(zg_store_sqlite_open_readonly(c->dir, &st), ZG_OK);
	assert_int_equal(zg_verify_store(st, audit_pub, NULL, NULL, r), ZG_OK);
	st->ops->close(st);
	if (r->failure != ZG_VERIFY_PASSED)
		print_message("verify: %s\n", r->message);
}

static void
expect_failure(const struct copy *c, enum zg_verify_failure kind,
    uint64_t index)
{
	zg_verify_report r;
	verify_copy(c, &r);
	assert_int_equal(r.failure, kind);
	assert_int_equal(r.index, index);
}

static void
intact_log_passes(void **state)
{
	zg_verify_report r;
	verify_copy(*state, &r);
	assert_int_equal(r.failure, ZG_VERIFY_PASSED);
	assert_int_equal(r.events, LOG_EVENTS);
	assert_int_equal(r.log_size, LOG_EVENTS);
	assert_int_equal(r.heads, 4);
	assert_int_equal(r.last_head.tree_size, LOG_EVENTS);
}

static void
modified_event_fails(void **state)
{
	/* Byte 6 is inside the eventId, so the bytes still decode. */
	flip_event(*state, 41, 6, 5, false);
	expect_failure(*state, ZG_VERIFY_EVENT_MODIFIED, 41);
}

static void
deleted_event_fails(void **state)
{
	tamper(*state, "DELETE FROM audit_events WHERE leaf_index=41");
	expect_failure(*state, ZG_VERIFY_EVENT_MISSING, 41);
}

static void
inserted_event_fails(void **state)
{
	tamper(*state, "INSERT INTO audit_events SELECT 300, canonical, "
	    "timestamp, user_hmac, resource_hmac FROM audit_events "
	    "WHERE leaf_index=299");
	expect_failure(*state, ZG_VERIFY_EVENT_EXTRA, 300);
}

static void
inserted_far_event_fails(void **state)
{
	tamper(*state, "INSERT INTO audit_events SELECT 1000, canonical, "
	    "timestamp, user_hmac, resource_hmac FROM audit_events "
	    "WHERE leaf_index=5");
	expect_failure(*state, ZG_VERIFY_EVENT_EXTRA, 1000);
}

static void
swapped_events_fail(void **state)
{
	tamper(*state, "UPDATE audit_events SET leaf_index=-1 WHERE leaf_index=41;"
	    "UPDATE audit_events SET leaf_index=41 WHERE leaf_index=57;"
	    "UPDATE audit_events SET leaf_index=57 WHERE leaf_index=-1;");
	expect_failure(*state, ZG_VERIFY_EVENT_MODIFIED, 41);
}

static void
swapped_events_and_leaves_fail(void **state)
{
	tamper(*state, "UPDATE audit_events SET leaf_index=-1 WHERE leaf_index=41;"
	    "UPDATE audit_events SET leaf_index=41 WHERE leaf_index=57;"
	    "UPDATE audit_events SET leaf_index=57 WHERE leaf_index=-1;"
	    "UPDATE audit_nodes SET idx=-1 WHERE level=0 AND idx=41;"
	    "UPDATE audit_nodes SET idx=41 WHERE level=0 AND idx=57;"
	    "UPDATE audit_nodes SET idx=57 WHERE level=0 AND idx=-1;");
	/* Leaves 40 and 41 form node (1, 20), which event 41 completes. */
	expect_failure(*state, ZG_VERIFY_NODE_MODIFIED, 41);
}

static void
truncated_log_fails(void **state)
{
	tamper(*state, "DELETE FROM audit_events WHERE leaf_index>=250;"
	    "DELETE FROM audit_nodes WHERE ((idx+1)<<level)>250;");
	expect_failure(*state, ZG_VERIFY_HEAD_BEYOND, 300);
}

static void
truncated_events_fail(void **state)
{
	tamper(*state, "DELETE FROM audit_events WHERE leaf_index>=250");
	expect_failure(*state, ZG_VERIFY_EVENT_MISSING, 250);
}

static void
modified_leaf_fails(void **state)
{
	tamper(*state, "UPDATE audit_nodes SET hash=zeroblob(32) "
	    "WHERE level=0 AND idx=41");
	expect_failure(*state, ZG_VERIFY_EVENT_MODIFIED, 41);
}

static void
modified_node_fails(void **state)
{
	/* Node (2, 10) covers events 40 to 43; event 43 completes it. */
	tamper(*state, "UPDATE audit_nodes SET hash=zeroblob(32) "
	    "WHERE level=2 AND idx=10");
	expect_failure(*state, ZG_VERIFY_NODE_MODIFIED, 43);
}

static void
deleted_node_fails(void **state)
{
	tamper(*state, "DELETE FROM audit_nodes WHERE level=3 AND idx=2");
	expect_failure(*state, ZG_VERIFY_NODE_MISSING, 23);
}

static void
changed_head_root_fails(void **state)
{
	tamper(*state, "UPDATE audit_heads SET root=zeroblob(32) "
	    "WHERE tree_size=100");
	expect_failure(*state, ZG_VERIFY_HEAD_SIGNATURE, 100);
}

static void
corrupt_signature_fails(void **state)
{
	tamper(*state, "UPDATE audit_heads SET signature=zeroblob(64) "
	    "WHERE tree_size=200");
	expect_failure(*state, ZG_VERIFY_HEAD_SIGNATURE, 200);
}

static void
changed_head_size_fails(void **state)
{
	tamper(*state, "UPDATE audit_heads SET tree_size=99 WHERE tree_size=100");
	expect_failure(*state, ZG_VERIFY_HEAD_SIGNATURE, 99);
}

static void
deleted_heads_fail(void **state)
{
	tamper(*state, "DELETE FROM audit_heads");
	expect_failure(*state, ZG_VERIFY_NO_HEAD, 0);
}

static void
consistent_rewrite_fails_at_head(void **state)
{
	zg_verify_report r;

	/* Event 150 changes and every node is recomputed to match. */
	flip_event(*state, 150, 6, 5, true);
	verify_copy(*state, &r);
	assert_int_equal(r.failure, ZG_VERIFY_HEAD_ROOT);
	assert_int_equal(r.index, 200);
	assert_int_equal(r.heads, 2);
	assert_int_equal(r.last_head.tree_size, 100);
	assert_non_null(strstr(r.message, "the last good head covers 100"));
}

static void
undecodable_event_fails(void **state)
{
	/* Byte 0 is the format; the attacker rehashes so only decoding fails. */
	flip_event(*state, 41, 0, 1, true);
	expect_failure(*state, ZG_VERIFY_EVENT_UNDECODABLE, 41);
}

static void
empty_canonical_fails(void **state)
{
	tamper(*state, "UPDATE audit_events SET canonical=x'' WHERE leaf_index=41");
	expect_failure(*state, ZG_VERIFY_EVENT_MODIFIED, 41);
}

static void
integer_canonical_fails(void **state)
{
	tamper(*state, "UPDATE audit_events SET canonical=7 WHERE leaf_index=41");
	expect_failure(*state, ZG_VERIFY_EVENT_MODIFIED, 41);
}

static void
null_canonical_fails(void **state)
{
	/* NOT NULL is in the schema, so the attacker rebuilds the table. */
	tamper(*state, "CREATE TABLE e2 (leaf_index INTEGER PRIMARY KEY, "
	    "canonical BLOB, timestamp INTEGER, user_hmac BLOB, "
	    "resource_hmac BLOB);"
	    "INSERT INTO e2 SELECT * FROM audit_events;"
	    "DROP TABLE audit_events;"
	    "ALTER TABLE e2 RENAME TO audit_events;"
	    "UPDATE audit_events SET canonical=NULL WHERE leaf_index=41;");
	expect_failure(*state, ZG_VERIFY_EVENT_MODIFIED, 41);
}

static void
short_leaf_hash_fails(void **state)
{
	tamper(*state, "UPDATE audit_nodes SET hash=x'0102' "
	    "WHERE level=0 AND idx=41");
	expect_failure(*state, ZG_VERIFY_NODE_MODIFIED, 41);
}

static void
null_node_hash_fails(void **state)
{
	tamper(*state, "CREATE TABLE n2 (level INTEGER, idx INTEGER, hash BLOB, "
	    "PRIMARY KEY (level, idx)) WITHOUT ROWID;"
	    "INSERT INTO n2 SELECT * FROM audit_nodes;"
	    "DROP TABLE audit_nodes;"
	    "ALTER TABLE n2 RENAME TO audit_nodes;"
	    "UPDATE audit_nodes SET hash=NULL WHERE level=1 AND idx=20;");
	expect_failure(*state, ZG_VERIFY_NODE_MODIFIED, 41);
}

static void
short_head_root_fails(void **state)
{
	tamper(*state, "UPDATE audit_heads SET root=x'00' WHERE tree_size=100");
	/* The row cannot be read, so its size is unknown: after head 60. */
	expect_failure(*state, ZG_VERIFY_HEAD_MALFORMED, 61);
}

static void
long_head_key_id_fails(void **state)
{
	tamper(*state, "UPDATE audit_heads SET key_id=hex(zeroblob(200)) "
	    "WHERE tree_size=60");
	expect_failure(*state, ZG_VERIFY_HEAD_MALFORMED, 1);
}

static void
random_bit_flip_fails(void **state)
{
	unsigned seed = zgt_seed("random_bit_flip_fails");
	srand(seed);
	for (int round = 0; round < 3; round++) {
		struct copy *c = *state;
		uint64_t i = (uint64_t)rand() % LOG_EVENTS;
		unsigned bit = (unsigned)rand() % 8;
		sqlite3 *db = NULL;
		size_t len = 0;

		assert_int_equal(sqlite3_open(c->db, &db), SQLITE_OK);
		free(read_event(db, i, &len));
		sqlite3_close(db);
		size_t offset = (size_t)rand() % len;
		print_message("flipping bit %u of byte %zu of event %llu\n", bit,
		    offset, (unsigned long long)i);
		flip_event(c, i, offset, bit, false);
		expect_failure(c, ZG_VERIFY_EVENT_MODIFIED, i);
		flip_event(c, i, offset, bit, false); /* restore */
	}
}

static void
missing_public_key_fails(void **state)
{
	zg_verify_report r;
	zg_store *st = NULL;
	struct copy *c = *state;

	assert_int_equal(zg_store_sqlite_open_readonly(c->dir, &st), ZG_OK);
	assert_int_equal(zg_verify_store(st, NULL, NULL, NULL, &r), ZG_OK);
	st->ops->close(st);
	assert_int_equal(r.failure, ZG_VERIFY_HEAD_SIGNATURE);
	assert_int_equal(r.index, 60);
}

static void
wrong_public_key_fails(void **state)
{
	zg_verify_report r;
	zg_store *st = NULL;
	uint8_t other[ZG_ED25519_PUB_LEN];
	struct copy *c = *state;

	memcpy(other, audit_pub, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(zg_store_sqlite_open_readonly(c->dir, &st), ZG_OK);
	assert_int_equal(zg_verify_store(st, other, NULL, NULL, &r), ZG_OK);
	st->ops->close(st);
	assert_int_equal(r.failure, ZG_VERIFY_HEAD_SIGNATURE);
	assert_non_null(strstr(r.message, "signed by key"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(intact_log_passes),
		T(modified_event_fails),
		T(deleted_event_fails),
		T(inserted_event_fails),
		T(inserted_far_event_fails),
		T(swapped_events_fail),
		T(swapped_events_and_leaves_fail),
		T(truncated_log_fails),
		T(truncated_events_fail),
		T(modified_leaf_fails),
		T(modified_node_fails),
		T(deleted_node_fails),
		T(changed_head_root_fails),
		T(corrupt_signature_fails),
		T(changed_head_size_fails),
		T(deleted_heads_fail),
		T(consistent_rewrite_fails_at_head),
		T(undecodable_event_fails),
		T(empty_canonical_fails),
		T(integer_canonical_fails),
		T(null_canonical_fails),
		T(short_leaf_hash_fails),
		T(null_node_hash_fails),
		T(short_head_root_fails),
		T(long_head_key_id_fails),
		T(random_bit_flip_fails),
		T(missing_public_key_fails),
		T(wrong_public_key_fails),
#undef T
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
