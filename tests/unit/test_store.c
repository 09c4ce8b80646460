/*
 * Tests of the SQLite store backend. Each test gets a fresh data directory
 * under /tmp and an open store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/log.h"
#include "store/store.h"

#define T0 1700000000000000LL /* a fixed time, in microseconds */

struct fixture {
	char dir[64];
	char db_path[96];
	zg_store *st;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/zg_store_XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->db_path, sizeof(f->db_path), "%s/zguard.db", f->dir);
	if (zg_store_sqlite_open(f->dir, &f->st) != ZG_OK) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	if (f->st != NULL)
		f->st->ops->close(f->st);
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", f->db_path, suffixes[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
reopen(struct fixture *f)
{
	f->st->ops->close(f->st);
	f->st = NULL;
	assert_int_equal(zg_store_sqlite_open(f->dir, &f->st), ZG_OK);
	assert_non_null(f->st);
}

/* Fills a credential and its first version, which points at blob. */
static void
make_cred(zg_cred_row *c, zg_cred_version_row *v, uint8_t *blob,
    size_t blob_len, const char *id, const char *owner, const char *name)
{
	memset(c, 0, sizeof(*c));
	memset(v, 0, sizeof(*v));
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->owner, sizeof(c->owner), "%s", owner);
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->type, sizeof(c->type), "password");
	c->metadata_json = (char *)"{\"env\":\"prod\"}";
	c->permissions_json = (char *)"[]";
	c->current_version = 1;
	c->created_at = T0;
	c->updated_at = T0;
	snprintf(v->cred_id, sizeof(v->cred_id), "%s", id);
	v->version = 1;
	v->blob = blob;
	v->blob_len = blob_len;
	v->created_at = T0;
}

static void
insert_cred(zg_store *st, const char *id, const char *owner, const char *name)
{
	zg_cred_row c;
	zg_cred_version_row v;
	uint8_t blob[16];

	memset(blob, 0xab, sizeof(blob));
	make_cred(&c, &v, blob, sizeof(blob), id, owner, name);
	assert_int_equal(st->ops->cred_insert(st, &c, &v), ZG_OK);
}

static int
user_version_of(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int version = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) ==
	    SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
		version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return version;
}

/* Reads a whole file. A missing file reads as empty. */
static uint8_t *
read_file(const char *path, size_t *len)
{
	*len = 0;
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return calloc(1, 1);
	fseek(fp, 0, SEEK_END);
	long size = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	uint8_t *p = malloc(size > 0 ? (size_t)size : 1);
	if (p != NULL && size > 0)
		*len = fread(p, 1, (size_t)size, fp);
	fclose(fp);
	return p;
}

static void
test_open_twice(void **state)
{
	struct fixture *f = *state;

	insert_cred(f->st, "cred_a", "alice", "db");
	reopen(f);
	reopen(f);
	f->st->ops->close(f->st);
	f->st = NULL;
	/*
	 * Migration 1 is the initial schema, 2 adds the audit log, 3 its
	 * search index, 4 the bucket in the search index's key, 5 generic
	 * objects and 6 token scopes.
	 */
	assert_int_equal(user_version_of(f->db_path), 6);
	assert_int_equal(zg_store_sqlite_open(f->dir, &f->st), ZG_OK);
}

static void
test_open_file_mode(void **state)
{
	struct fixture *f = *state;
	struct stat sb;
	char wal[128];

	insert_cred(f->st, "cred_a", "alice", "db");
	assert_int_equal(stat(f->db_path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", f->db_path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void
test_open_newer_schema(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;

	f->st->ops->close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);

	zg_store *st = (zg_store *)1;
	assert_int_equal(zg_store_sqlite_open(f->dir, &st), ZG_ERR_STORE);
	assert_null(st);
	assert_int_equal(user_version_of(f->db_path), 99);
}

static void
test_meta_roundtrip(void **state)
{
	struct fixture *f = *state;
	const uint8_t v1[] = {1, 2, 3}, v2[] = {9, 8, 7, 6};
	uint8_t *blob = NULL;
	size_t len = 0;

	assert_int_equal(f->st->ops->meta_get(f->st, "root_key", &blob, &len),
	    ZG_ERR_NOT_FOUND);
	assert_null(blob);
	assert_int_equal(f->st->ops->meta_put(f->st, "root_key", v1,
	    sizeof(v1)), ZG_OK);
	assert_int_equal(f->st->ops->meta_put(f->st, "root_key", v2,
	    sizeof(v2)), ZG_OK);
	assert_int_equal(f->st->ops->meta_get(f->st, "root_key", &blob, &len),
	    ZG_OK);
	assert_int_equal(len, sizeof(v2));
	assert_memory_equal(blob, v2, sizeof(v2));
	free(blob);
}

static void
test_meta_empty_value(void **state)
{
	struct fixture *f = *state;
	uint8_t *blob = NULL;
	size_t len = 1;

	assert_int_equal(f->st->ops->meta_put(f->st, "empty", NULL, 0), ZG_OK);
	assert_int_equal(f->st->ops->meta_get(f->st, "empty", &blob, &len),
	    ZG_OK);
	assert_non_null(blob);
	assert_int_equal(len, 0);
	free(blob);
}

static void
make_wkey(zg_wrapped_key *k, const char *id, uint32_t version, uint8_t *blob,
    size_t len)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->id, sizeof(k->id), "%s", id);
	k->version = version;
	k->blob = blob;
	k->blob_len = len;
	k->created_at = T0 + version;
}

static void
test_wkey_insert_list(void **state)
{
	struct fixture *f = *state;
	uint8_t b1[8] = {1}, b2[8] = {2}, b3[8] = {3};
	zg_wrapped_key k;
	zg_wrapped_key *keys = NULL;
	size_t n = 0;

	make_wkey(&k, "kek", 2, b2, sizeof(b2));
	assert_int_equal(f->st->ops->wkey_insert(f->st, &k), ZG_OK);
	make_wkey(&k, "token_hmac", 1, b3, sizeof(b3));
	assert_int_equal(f->st->ops->wkey_insert(f->st, &k), ZG_OK);
	make_wkey(&k, "kek", 1, b1, sizeof(b1));
	assert_int_equal(f->st->ops->wkey_insert(f->st, &k), ZG_OK);
	assert_int_equal(f->st->ops->wkey_insert(f->st, &k), ZG_ERR_CONFLICT);

	assert_int_equal(f->st->ops->wkey_list(f->st, &keys, &n), ZG_OK);
	assert_int_equal(n, 3);
	assert_string_equal(keys[0].id, "kek");
	assert_int_equal(keys[0].version, 1);
	assert_memory_equal(keys[0].blob, b1, sizeof(b1));
	assert_int_equal(keys[0].created_at, T0 + 1);
	assert_string_equal(keys[1].id, "kek");
	assert_int_equal(keys[1].version, 2);
	assert_string_equal(keys[2].id, "token_hmac");
	assert_int_equal(keys[2].blob_len, sizeof(b3));
	zg_wrapped_keys_free(keys, n);
}

static void
test_wkey_delete(void **state)
{
	struct fixture *f = *state;
	uint8_t b[4] = {7};
	zg_wrapped_key k;
	zg_wrapped_key *keys = NULL;
	size_t n = 0;

	make_wkey(&k, "user:alice", 1, b, sizeof(b));
	assert_int_equal(f->st->ops->wkey_insert(f->st, &k), ZG_OK);
	make_wkey(&k, "user:alice", 2, b, sizeof(b));
	assert_int_equal(f->st->ops->wkey_insert(f->st, &k), ZG_OK);
	make_wkey(&k, "kek", 1, b, sizeof(b));
	assert_int_equal(f->st->ops->wkey_insert(f->st, &k), ZG_OK);

	assert_int_equal(f->st->ops->wkey_delete(f->st, "user:alice"), ZG_OK);
	assert_int_equal(f->st->ops->wkey_delete(f->st, "user:alice"),
	    ZG_ERR_NOT_FOUND);
	assert_int_equal(f->st->ops->wkey_list(f->st, &keys, &n), ZG_OK);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0].id, "kek");
	zg_wrapped_keys_free(keys, n);
}

static void
test_root_rotate(void **state)
{
	struct fixture *f = *state;
	uint8_t old[4] = {1, 1, 1, 1}, fresh_a[5] = {5, 5, 5, 5, 5};
	uint8_t fresh_b[3] = {6, 6, 6}, root[4] = {0xee, 0xee, 0xee, 0xee};
	zg_wrapped_key k[2];
	zg_wrapped_key *keys = NULL;
	size_t n = 0;
	uint8_t *blob = NULL;
	size_t len = 0;

	make_wkey(&k[0], "kek", 1, old, sizeof(old));
	assert_int_equal(f->st->ops->wkey_insert(f->st, &k[0]), ZG_OK);
	make_wkey(&k[0], "token_hmac", 1, old, sizeof(old));
	assert_int_equal(f->st->ops->wkey_insert(f->st, &k[0]), ZG_OK);

	/* Given out of order, to check that order does not matter. */
	make_wkey(&k[0], "token_hmac", 1, fresh_b, sizeof(fresh_b));
	make_wkey(&k[1], "kek", 1, fresh_a, sizeof(fresh_a));
	assert_int_equal(f->st->ops->root_rotate(f->st, "root_key", root,
	    sizeof(root), k, 2), ZG_OK);

	assert_int_equal(f->st->ops->wkey_list(f->st, &keys, &n), ZG_OK);
	assert_int_equal(n, 2);
	assert_int_equal(keys[0].blob_len, sizeof(fresh_a));
	assert_memory_equal(keys[0].blob, fresh_a, sizeof(fresh_a));
	assert_int_equal(keys[1].blob_len, sizeof(fresh_b));
	assert_memory_equal(keys[1].blob, fresh_b, sizeof(fresh_b));
	zg_wrapped_keys_free(keys, n);
	assert_int_equal(f->st->ops->meta_get(f->st, "root_key", &blob, &len),
	    ZG_OK);
	assert_int_equal(len, sizeof(root));
	assert_memory_equal(blob, root, sizeof(root));
	free(blob);
}

static void
test_root_rotate_conflict(void **state)
{
	struct fixture *f = *state;
	uint8_t old[4] = {1, 1, 1, 1}, fresh[4] = {2, 2, 2, 2}, root[2] = {3};
	zg_wrapped_key k[2];
	zg_wrapped_key *keys = NULL;
	size_t n = 0;
	uint8_t *blob = NULL;
	size_t len = 0;

	make_wkey(&k[0], "kek", 1, old, sizeof(old));
	assert_int_equal(f->st->ops->wkey_insert(f->st, &k[0]), ZG_OK);
	make_wkey(&k[0], "kek", 2, old, sizeof(old));
	assert_int_equal(f->st->ops->wkey_insert(f->st, &k[0]), ZG_OK);

	/* A key missing from the set. */
	make_wkey(&k[0], "kek", 1, fresh, sizeof(fresh));
	assert_int_equal(f->st->ops->root_rotate(f->st, "root_key", root,
	    sizeof(root), k, 1), ZG_ERR_CONFLICT);
	/* A key that is not stored. */
	make_wkey(&k[1], "kek", 3, fresh, sizeof(fresh));
	assert_int_equal(f->st->ops->root_rotate(f->st, "root_key", root,
	    sizeof(root), k, 2), ZG_ERR_CONFLICT);
	/* The same key twice. */
	make_wkey(&k[1], "kek", 1, fresh, sizeof(fresh));
	assert_int_equal(f->st->ops->root_rotate(f->st, "root_key", root,
	    sizeof(root), k, 2), ZG_ERR_CONFLICT);

	/* Nothing changed. */
	assert_int_equal(f->st->ops->meta_get(f->st, "root_key", &blob, &len),
	    ZG_ERR_NOT_FOUND);
	assert_int_equal(f->st->ops->wkey_list(f->st, &keys, &n), ZG_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(keys[0].blob, old, sizeof(old));
	assert_memory_equal(keys[1].blob, old, sizeof(old));
	zg_wrapped_keys_free(keys, n);
}

static void
test_cred_insert_get(void **state)
{
	struct fixture *f = *state;
	zg_cred_row c, out;
	zg_cred_version_row v;
	uint8_t blob[32];

	memset(blob, 0x5a, sizeof(blob));
	make_cred(&c, &v, blob, sizeof(blob), "cred_1", "alice", "db");
	c.expires_at = T0 + 3600;
	assert_int_equal(f->st->ops->cred_insert(f->st, &c, &v), ZG_OK);

	assert_int_equal(f->st->ops->cred_get(f->st, "cred_1", &out), ZG_OK);
	assert_string_equal(out.id, "cred_1");
	assert_string_equal(out.owner, "alice");
	assert_string_equal(out.name, "db");
	assert_string_equal(out.type, "password");
	assert_string_equal(out.metadata_json, "{\"env\":\"prod\"}");
	assert_string_equal(out.permissions_json, "[]");
	assert_int_equal(out.current_version, 1);
	assert_int_equal(out.created_at, T0);
	assert_int_equal(out.updated_at, T0);
	assert_int_equal(out.expires_at, T0 + 3600);
	assert_int_equal(out.revoked_at, 0);
	zg_cred_row_free(&out);

	assert_int_equal(f->st->ops->cred_get(f->st, "cred_none", &out),
	    ZG_ERR_NOT_FOUND);
}

static void
test_cred_insert_conflict(void **state)
{
	struct fixture *f = *state;
	zg_cred_row c;
	zg_cred_version_row v;
	uint8_t blob[4] = {1};

	insert_cred(f->st, "cred_1", "alice", "db");
	make_cred(&c, &v, blob, sizeof(blob), "cred_2", "alice", "db");
	assert_int_equal(f->st->ops->cred_insert(f->st, &c, &v),
	    ZG_ERR_CONFLICT);
	make_cred(&c, &v, blob, sizeof(blob), "cred_1", "bob", "other");
	assert_int_equal(f->st->ops->cred_insert(f->st, &c, &v),
	    ZG_ERR_CONFLICT);
	/* The same name for another owner is fine. */
	make_cred(&c, &v, blob, sizeof(blob), "cred_3", "bob", "db");
	assert_int_equal(f->st->ops->cred_insert(f->st, &c, &v), ZG_OK);
	/* The failed insert left no version behind. */
	zg_cred_version_row out;
	assert_int_equal(f->st->ops->cred_get_version(f->st, "cred_2", 1,
	    &out), ZG_ERR_NOT_FOUND);
}

static void
test_cred_list(void **state)
{
	struct fixture *f = *state;
	zg_cred_row *rows = NULL;
	size_t n = 0;

	insert_cred(f->st, "cred_c", "alice", "c");
	insert_cred(f->st, "cred_a", "alice", "a");
	insert_cred(f->st, "cred_b", "bob", "b");
	insert_cred(f->st, "cred_d", "alice", "d");

	assert_int_equal(f->st->ops->cred_list(f->st, NULL, NULL, 100, &rows,
	    &n), ZG_OK);
	assert_int_equal(n, 4);
	assert_string_equal(rows[0].id, "cred_a");
	assert_string_equal(rows[3].id, "cred_d");
	zg_cred_rows_free(rows, n);

	assert_int_equal(f->st->ops->cred_list(f->st, "alice", "", 100, &rows,
	    &n), ZG_OK);
	assert_int_equal(n, 3);
	assert_string_equal(rows[0].id, "cred_a");
	assert_string_equal(rows[1].id, "cred_c");
	assert_string_equal(rows[2].id, "cred_d");
	zg_cred_rows_free(rows, n);

	assert_int_equal(f->st->ops->cred_list(f->st, "nobody", NULL, 10,
	    &rows, &n), ZG_OK);
	assert_int_equal(n, 0);
	assert_null(rows);
}

static void
test_cred_list_pages(void **state)
{
	struct fixture *f = *state;
	zg_cred_row *rows = NULL;
	size_t n = 0;
	char id[16], name[16], after[ZG_ID_MAX] = "";
	size_t seen = 0, pages = 0;

	for (int i = 0; i < 25; i++) {
		snprintf(id, sizeof(id), "cred_%02d", i);
		snprintf(name, sizeof(name), "n%d", i);
		insert_cred(f->st, id, i % 5 == 0 ? "bob" : "alice", name);
	}
	do {
		assert_int_equal(f->st->ops->cred_list(f->st, "alice", after, 7,
		    &rows, &n), ZG_OK);
		assert_true(n <= 7);
		for (size_t i = 0; i < n; i++) {
			assert_string_equal(rows[i].owner, "alice");
			assert_true(strcmp(rows[i].id, after) > 0);
			snprintf(after, sizeof(after), "%s", rows[i].id);
		}
		seen += n;
		pages++;
		zg_cred_rows_free(rows, n);
	} while (n == 7);
	assert_int_equal(seen, 20);
	assert_int_equal(pages, 3);

	assert_int_equal(f->st->ops->cred_list(f->st, NULL, "cred_23", 100,
	    &rows, &n), ZG_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].id, "cred_24");
	zg_cred_rows_free(rows, n);
}

static void
test_add_version(void **state)
{
	struct fixture *f = *state;
	zg_cred_version_row v, out;
	zg_cred_row c;
	uint8_t blob[6] = {2, 2, 2, 2, 2, 2};

	insert_cred(f->st, "cred_1", "alice", "db");
	memset(&v, 0, sizeof(v));
	snprintf(v.cred_id, sizeof(v.cred_id), "cred_1");
	v.version = 2;
	v.blob = blob;
	v.blob_len = sizeof(blob);
	v.created_at = T0 + 10;
	assert_int_equal(f->st->ops->cred_add_version(f->st, &v, T0 + 10),
	    ZG_OK);

	assert_int_equal(f->st->ops->cred_get(f->st, "cred_1", &c), ZG_OK);
	assert_int_equal(c.current_version, 2);
	assert_int_equal(c.updated_at, T0 + 10);
	zg_cred_row_free(&c);

	assert_int_equal(f->st->ops->cred_get_version(f->st, "cred_1", 2, &out),
	    ZG_OK);
	assert_string_equal(out.cred_id, "cred_1");
	assert_int_equal(out.version, 2);
	assert_int_equal(out.blob_len, sizeof(blob));
	assert_memory_equal(out.blob, blob, sizeof(blob));
	assert_int_equal(out.created_at, T0 + 10);
	zg_cred_version_row_free(&out);

	assert_int_equal(f->st->ops->cred_get_version(f->st, "cred_1", 1, &out),
	    ZG_OK);
	assert_int_equal(out.blob_len, 16);
	zg_cred_version_row_free(&out);
	assert_int_equal(f->st->ops->cred_get_version(f->st, "cred_1", 3, &out),
	    ZG_ERR_NOT_FOUND);
}

static void
test_add_version_conflict(void **state)
{
	struct fixture *f = *state;
	zg_cred_version_row v;
	uint8_t blob[2] = {1, 2};

	insert_cred(f->st, "cred_1", "alice", "db");
	memset(&v, 0, sizeof(v));
	snprintf(v.cred_id, sizeof(v.cred_id), "cred_1");
	v.blob = blob;
	v.blob_len = sizeof(blob);
	v.version = 3;
	assert_int_equal(f->st->ops->cred_add_version(f->st, &v, T0),
	    ZG_ERR_CONFLICT);
	v.version = 1;
	assert_int_equal(f->st->ops->cred_add_version(f->st, &v, T0),
	    ZG_ERR_CONFLICT);
	v.version = 2;
	assert_int_equal(f->st->ops->cred_add_version(f->st, &v, T0), ZG_OK);
	assert_int_equal(f->st->ops->cred_add_version(f->st, &v, T0),
	    ZG_ERR_CONFLICT);
	snprintf(v.cred_id, sizeof(v.cred_id), "cred_none");
	v.version = 2;
	assert_int_equal(f->st->ops->cred_add_version(f->st, &v, T0),
	    ZG_ERR_NOT_FOUND);
}

static void
test_add_version_revoked(void **state)
{
	struct fixture *f = *state;
	zg_cred_version_row v;
	uint8_t blob[2] = {1, 2};

	insert_cred(f->st, "cred_1", "alice", "db");
	assert_int_equal(f->st->ops->cred_revoke(f->st, "cred_1", T0 + 5),
	    ZG_OK);
	memset(&v, 0, sizeof(v));
	snprintf(v.cred_id, sizeof(v.cred_id), "cred_1");
	v.version = 2;
	v.blob = blob;
	v.blob_len = sizeof(blob);
	assert_int_equal(f->st->ops->cred_add_version(f->st, &v, T0 + 6),
	    ZG_ERR_REVOKED);
}

static bool
contains(const uint8_t *hay, size_t hay_len, const uint8_t *needle,
    size_t needle_len)
{
	return memmem(hay, hay_len, needle, needle_len) != NULL;
}

static void
test_revoke_erases_blobs(void **state)
{
	struct fixture *f = *state;
	zg_cred_row c;
	zg_cred_version_row v, out;
	uint8_t blob[64], blob2[64];
	char wal[128];

	/* Distinctive patterns to look for in the files afterwards. */
	for (size_t i = 0; i < sizeof(blob); i++) {
		blob[i] = (uint8_t)(0x80 + i);
		blob2[i] = (uint8_t)(0xc0 - i);
	}
	make_cred(&c, &v, blob, sizeof(blob), "cred_1", "alice", "db");
	assert_int_equal(f->st->ops->cred_insert(f->st, &c, &v), ZG_OK);
	v.version = 2;
	v.blob = blob2;
	assert_int_equal(f->st->ops->cred_add_version(f->st, &v, T0 + 1),
	    ZG_OK);

	/* Control: before revocation the blobs are in the WAL. */
	size_t db_len, wal_len;
	snprintf(wal, sizeof(wal), "%s-wal", f->db_path);
	uint8_t *wal_bytes = read_file(wal, &wal_len);
	assert_true(contains(wal_bytes, wal_len, blob, sizeof(blob)));
	assert_true(contains(wal_bytes, wal_len, blob2, sizeof(blob2)));
	free(wal_bytes);

	assert_int_equal(f->st->ops->cred_revoke(f->st, "cred_1", T0 + 2),
	    ZG_OK);
	assert_int_equal(f->st->ops->cred_get(f->st, "cred_1", &c), ZG_OK);
	assert_int_equal(c.revoked_at, T0 + 2);
	zg_cred_row_free(&c);
	for (uint32_t ver = 1; ver <= 2; ver++) {
		assert_int_equal(f->st->ops->cred_get_version(f->st, "cred_1",
		    ver, &out), ZG_OK);
		assert_null(out.blob);
		assert_int_equal(out.blob_len, 0);
	}

	uint8_t *db_bytes = read_file(f->db_path, &db_len);
	wal_bytes = read_file(wal, &wal_len);
	assert_true(db_len > 0);
	assert_false(contains(db_bytes, db_len, blob, sizeof(blob)));
	assert_false(contains(db_bytes, db_len, blob2, sizeof(blob2)));
	assert_int_equal(wal_len, 0);
	free(db_bytes);
	free(wal_bytes);
}

static void
test_revoke_twice(void **state)
{
	struct fixture *f = *state;
	zg_cred_row c;

	insert_cred(f->st, "cred_1", "alice", "db");
	assert_int_equal(f->st->ops->cred_revoke(f->st, "cred_1", T0 + 1),
	    ZG_OK);
	assert_int_equal(f->st->ops->cred_revoke(f->st, "cred_1", T0 + 2),
	    ZG_OK);
	assert_int_equal(f->st->ops->cred_get(f->st, "cred_1", &c), ZG_OK);
	assert_int_equal(c.revoked_at, T0 + 1);
	zg_cred_row_free(&c);
	assert_int_equal(f->st->ops->cred_revoke(f->st, "cred_none", T0),
	    ZG_ERR_NOT_FOUND);
}

static void
test_lease_redeem_once(void **state)
{
	struct fixture *f = *state;
	uint8_t hash[32];
	char cred_id[ZG_ID_MAX];
	uint32_t version = 0;

	memset(hash, 0x11, sizeof(hash));
	insert_cred(f->st, "cred_1", "alice", "db");
	assert_int_equal(f->st->ops->lease_insert(f->st, hash, "cred_1", 1, T0,
	    T0 + 60), ZG_OK);
	assert_int_equal(f->st->ops->lease_insert(f->st, hash, "cred_1", 1, T0,
	    T0 + 60), ZG_ERR_CONFLICT);

	assert_int_equal(f->st->ops->lease_redeem(f->st, hash, T0 + 1, cred_id,
	    &version), ZG_OK);
	assert_string_equal(cred_id, "cred_1");
	assert_int_equal(version, 1);
	assert_int_equal(f->st->ops->lease_redeem(f->st, hash, T0 + 2, cred_id,
	    &version), ZG_ERR_GONE);
}

static void
test_lease_expired(void **state)
{
	struct fixture *f = *state;
	uint8_t hash[32];
	char cred_id[ZG_ID_MAX];
	uint32_t version = 0;

	memset(hash, 0x22, sizeof(hash));
	insert_cred(f->st, "cred_1", "alice", "db");
	assert_int_equal(f->st->ops->lease_insert(f->st, hash, "cred_1", 1, T0,
	    T0 + 60), ZG_OK);
	/* Expiry is exclusive: at expires_at the lease is already gone. */
	assert_int_equal(f->st->ops->lease_redeem(f->st, hash, T0 + 60,
	    cred_id, &version), ZG_ERR_GONE);
	assert_int_equal(f->st->ops->lease_redeem(f->st, hash, T0 + 61,
	    cred_id, &version), ZG_ERR_GONE);
}

static void
test_lease_unknown(void **state)
{
	struct fixture *f = *state;
	uint8_t hash[32];
	char cred_id[ZG_ID_MAX];
	uint32_t version = 0;

	memset(hash, 0x33, sizeof(hash));
	assert_int_equal(f->st->ops->lease_redeem(f->st, hash, T0, cred_id,
	    &version), ZG_ERR_NOT_FOUND);
	/* A lease must name an existing credential version. */
	insert_cred(f->st, "cred_1", "alice", "db");
	assert_int_equal(f->st->ops->lease_insert(f->st, hash, "cred_1", 2, T0,
	    T0 + 60), ZG_ERR_NOT_FOUND);
	assert_int_equal(f->st->ops->lease_insert(f->st, hash, "cred_none", 1,
	    T0, T0 + 60), ZG_ERR_NOT_FOUND);
}

static void
make_token(zg_token_row *t, const char *id, uint8_t fill, const char *user)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id);
	memset(t->hash, fill, sizeof(t->hash));
	snprintf(t->user_id, sizeof(t->user_id), "%s", user);
	t->created_at = T0;
}

static void
test_token_roundtrip(void **state)
{
	struct fixture *f = *state;
	zg_token_row t, out;

	make_token(&t, "tok_1", 0x44, "alice");
	snprintf(t.subject_type, sizeof(t.subject_type), "service_account");
	snprintf(t.scope, sizeof(t.scope), "[{\"resource\":\"keys/*\"}]");
	t.expires_at = T0 + 100;
	assert_int_equal(f->st->ops->token_insert(f->st, &t), ZG_OK);

	assert_int_equal(f->st->ops->token_get_by_hash(f->st, t.hash, &out),
	    ZG_OK);
	assert_string_equal(out.id, "tok_1");
	assert_memory_equal(out.hash, t.hash, sizeof(t.hash));
	assert_string_equal(out.user_id, "alice");
	assert_string_equal(out.subject_type, "service_account");
	assert_string_equal(out.scope, "[{\"resource\":\"keys/*\"}]");
	assert_int_equal(out.created_at, T0);
	assert_int_equal(out.expires_at, T0 + 100);
	assert_int_equal(out.revoked_at, 0);

	assert_int_equal(f->st->ops->token_get(f->st, "tok_1", &out), ZG_OK);
	assert_string_equal(out.user_id, "alice");
	assert_int_equal(f->st->ops->token_get(f->st, "tok_2", &out),
	    ZG_ERR_NOT_FOUND);
	memset(t.hash, 0x45, sizeof(t.hash));
	assert_int_equal(f->st->ops->token_get_by_hash(f->st, t.hash, &out),
	    ZG_ERR_NOT_FOUND);
}

static void
test_token_conflict(void **state)
{
	struct fixture *f = *state;
	zg_token_row t;

	make_token(&t, "tok_1", 0x44, "alice");
	assert_int_equal(f->st->ops->token_insert(f->st, &t), ZG_OK);
	make_token(&t, "tok_2", 0x44, "bob");
	assert_int_equal(f->st->ops->token_insert(f->st, &t), ZG_ERR_CONFLICT);
	make_token(&t, "tok_1", 0x55, "bob");
	assert_int_equal(f->st->ops->token_insert(f->st, &t), ZG_ERR_CONFLICT);
}

static void
test_token_revoke(void **state)
{
	struct fixture *f = *state;
	zg_token_row t, out;

	make_token(&t, "tok_1", 0x44, "alice");
	assert_int_equal(f->st->ops->token_insert(f->st, &t), ZG_OK);
	assert_int_equal(f->st->ops->token_revoke(f->st, "tok_1", T0 + 7),
	    ZG_OK);
	assert_int_equal(f->st->ops->token_revoke(f->st, "tok_1", T0 + 8),
	    ZG_OK);
	assert_int_equal(f->st->ops->token_get(f->st, "tok_1", &out), ZG_OK);
	assert_int_equal(out.revoked_at, T0 + 7);
	assert_int_equal(f->st->ops->token_revoke(f->st, "tok_none", T0),
	    ZG_ERR_NOT_FOUND);
}

#define WRITERS 8
#define READERS 6
#define PER_THREAD 40

struct worker {
	zg_store *st;
	int index;
	atomic_int *failures;
};

static void *
write_worker(void *arg)
{
	struct worker *w = arg;
	char id[32], owner[16], name[16];
	uint8_t blob[24];

	snprintf(owner, sizeof(owner), "user%d", w->index);
	for (int i = 0; i < PER_THREAD; i++) {
		zg_cred_row c, out;
		zg_cred_version_row v, vout;
		snprintf(id, sizeof(id), "cred_%02d_%03d", w->index, i);
		snprintf(name, sizeof(name), "n%d", i);
		memset(blob, w->index, sizeof(blob));
		make_cred(&c, &v, blob, sizeof(blob), id, owner, name);
		if (w->st->ops->cred_insert(w->st, &c, &v) != ZG_OK) {
			atomic_fetch_add(w->failures, 1);
			continue;
		}
		if (w->st->ops->cred_get(w->st, id, &out) != ZG_OK)
			atomic_fetch_add(w->failures, 1);
		else
			zg_cred_row_free(&out);
		if (w->st->ops->cred_get_version(w->st, id, 1, &vout) !=
		    ZG_OK || vout.blob_len != sizeof(blob) ||
		    memcmp(vout.blob, blob, sizeof(blob)) != 0)
			atomic_fetch_add(w->failures, 1);
		zg_cred_version_row_free(&vout);
	}
	return NULL;
}

static void *
read_worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		zg_cred_row *rows = NULL;
		size_t n = 0;
		if (w->st->ops->cred_list(w->st, NULL, NULL, 50, &rows, &n) !=
		    ZG_OK)
			atomic_fetch_add(w->failures, 1);
		zg_cred_rows_free(rows, n);
	}
	return NULL;
}

static void
test_concurrent_access(void **state)
{
	struct fixture *f = *state;
	pthread_t threads[WRITERS + READERS];
	struct worker workers[WRITERS + READERS];
	atomic_int failures = 0;
	zg_cred_row *rows = NULL;
	size_t n = 0;

	for (int i = 0; i < WRITERS + READERS; i++) {
		workers[i] = (struct worker){f->st, i, &failures};
		assert_int_equal(pthread_create(&threads[i], NULL,
		    i < WRITERS ? write_worker : read_worker, &workers[i]), 0);
	}
	for (int i = 0; i < WRITERS + READERS; i++)
		pthread_join(threads[i], NULL);
	assert_int_equal(atomic_load(&failures), 0);

	assert_int_equal(f->st->ops->cred_list(f->st, NULL, NULL, 1000, &rows,
	    &n), ZG_OK);
	assert_int_equal(n, WRITERS * PER_THREAD);
	zg_cred_rows_free(rows, n);
}

static void
test_reopen_keeps_data(void **state)
{
	struct fixture *f = *state;
	zg_cred_row c;
	zg_cred_version_row v;
	uint8_t blob[16];

	insert_cred(f->st, "cred_1", "alice", "db");
	reopen(f);
	assert_int_equal(f->st->ops->cred_get(f->st, "cred_1", &c), ZG_OK);
	assert_string_equal(c.owner, "alice");
	assert_string_equal(c.name, "db");
	zg_cred_row_free(&c);
	assert_int_equal(f->st->ops->cred_get_version(f->st, "cred_1", 1, &v),
	    ZG_OK);
	memset(blob, 0xab, sizeof(blob));
	assert_int_equal(v.blob_len, sizeof(blob));
	assert_memory_equal(v.blob, blob, sizeof(blob));
	zg_cred_version_row_free(&v);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_twice),
		T(test_open_file_mode),
		T(test_open_newer_schema),
		T(test_meta_roundtrip),
		T(test_meta_empty_value),
		T(test_wkey_insert_list),
		T(test_wkey_delete),
		T(test_root_rotate),
		T(test_root_rotate_conflict),
		T(test_cred_insert_get),
		T(test_cred_insert_conflict),
		T(test_cred_list),
		T(test_cred_list_pages),
		T(test_add_version),
		T(test_add_version_conflict),
		T(test_add_version_revoked),
		T(test_revoke_erases_blobs),
		T(test_revoke_twice),
		T(test_lease_redeem_once),
		T(test_lease_expired),
		T(test_lease_unknown),
		T(test_token_roundtrip),
		T(test_token_conflict),
		T(test_token_revoke),
		T(test_concurrent_access),
		T(test_reopen_keeps_data),
	};
	zg_log_set_level(ZG_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
