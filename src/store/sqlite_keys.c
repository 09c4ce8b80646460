/*
 * Meta values and keys wrapped under the root key, for the SQLite backend.
 */
#include "store/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"

zg_err
zg_sqlite_meta_get(zg_store *st, const char *key, uint8_t **blob, size_t *len)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	*blob = NULL;
	*len = 0;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_META_GET,
	    "SELECT value FROM meta WHERE key=?",
	    &stmt, "meta_get")) != ZG_OK)
		goto out;
	zg_sqlite_bind_text(stmt, 1, key, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		err = ZG_ERR_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = zg_sqlite_error(conn->db, rc, "meta_get");
		goto out;
	}
	err = zg_sqlite_column_blob(stmt, 0, blob, len);
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}

/* Inserts or replaces a meta value on the writer connection. */
static zg_err
meta_upsert(zg_sqlite_conn *conn, const char *key, const uint8_t *blob,
    size_t len, const char *op)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_META_UPSERT,
	    "INSERT INTO meta (key, value) "
	    "VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
	    &stmt, op)) != ZG_OK)
		return err;
	zg_sqlite_bind_text(stmt, 1, key, &rc);
	zg_sqlite_bind_blob(stmt, 2, blob, len, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	err = rc == SQLITE_DONE ? ZG_OK : zg_sqlite_error(conn->db, rc, op);
	zg_sqlite_stmt_done(stmt);
	return err;
}

zg_err
zg_sqlite_meta_put(zg_store *st, const char *key, const uint8_t *blob,
    size_t len)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	zg_err err = meta_upsert(conn, key, blob, len, "meta_put");
	zg_sqlite_writer_release(s);
	return err;
}

zg_err
zg_sqlite_wkey_insert(zg_store *st, const zg_wrapped_key *k)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_WKEY_INSERT,
	    "INSERT INTO wrapped_keys "
	    "(id, version, blob, created_at) VALUES (?, ?, ?, ?)", &stmt,
	    "wkey_insert")) != ZG_OK)
		goto out;
	zg_sqlite_bind_text(stmt, 1, k->id, &rc);
	zg_sqlite_bind_int64(stmt, 2, k->version, &rc);
	zg_sqlite_bind_blob(stmt, 3, k->blob, k->blob_len, &rc);
	zg_sqlite_bind_int64(stmt, 4, k->created_at, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	err = rc == SQLITE_DONE ? ZG_OK :
	    zg_sqlite_error(conn->db, rc, "wkey_insert");
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_writer_release(s);
	return err;
}

zg_err
zg_sqlite_wkey_list(zg_store *st, zg_wrapped_key **keys, size_t *n)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	zg_wrapped_key *arr = NULL;
	size_t count = 0, cap = 0;
	zg_err err;
	int rc;

	*keys = NULL;
	*n = 0;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_WKEY_LIST,
	    "SELECT id, version, blob, created_at "
	    "FROM wrapped_keys ORDER BY id, version", &stmt,
	    "wkey_list")) != ZG_OK)
		goto out;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			zg_wrapped_key *p = realloc(arr, ncap * sizeof(*arr));
			if (p == NULL) {
				err = ZG_ERR_NOMEM;
				goto out;
			}
			arr = p;
			cap = ncap;
		}
		zg_wrapped_key *k = &arr[count];
		memset(k, 0, sizeof(*k));
		count++;
		if ((err = zg_sqlite_column_text(stmt, 0, k->id, sizeof(k->id),
		    "wkey_list")) != ZG_OK)
			goto out;
		k->version = (uint32_t)sqlite3_column_int64(stmt, 1);
		if ((err = zg_sqlite_column_blob(stmt, 2, &k->blob,
		    &k->blob_len)) != ZG_OK)
			goto out;
		k->created_at = sqlite3_column_int64(stmt, 3);
	}
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "wkey_list");
		goto out;
	}
	/* success */
	*keys = arr;
	*n = count;
	arr = NULL;
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	zg_wrapped_keys_free(arr, count);
	return err;
}

zg_err
zg_sqlite_wkey_delete(zg_store *st, const char *id)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_WKEY_DELETE,
	    "DELETE FROM wrapped_keys WHERE id=?",
	    &stmt, "wkey_delete")) != ZG_OK)
		goto out;
	zg_sqlite_bind_text(stmt, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "wkey_delete");
		goto out;
	}
	err = sqlite3_changes(conn->db) > 0 ? ZG_OK : ZG_ERR_NOT_FOUND;
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_writer_release(s);
	return err;
}

/* Orders keys by id, then version, as "ORDER BY id, version" does. */
static int
wkey_ptr_cmp(const void *a, const void *b)
{
	const zg_wrapped_key *x = *(const zg_wrapped_key *const *)a;
	const zg_wrapped_key *y = *(const zg_wrapped_key *const *)b;
	int c = strcmp(x->id, y->id);
	if (c != 0)
		return c;
	return (x->version > y->version) - (x->version < y->version);
}

/*
 * Checks that the stored (id, version) pairs are exactly those of sorted,
 * inside the caller's transaction. ZG_ERR_CONFLICT if they differ.
 */
static zg_err
wkey_set_matches(zg_sqlite_conn *conn, const zg_wrapped_key *const *sorted,
    size_t n)
{
	sqlite3_stmt *stmt = NULL;
	size_t i = 0;
	zg_err err;
	int rc;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_WKEY_IDS,
	    "SELECT id, version FROM wrapped_keys "
	    "ORDER BY id, version", &stmt, "root_rotate")) != ZG_OK)
		return err;
	err = ZG_OK;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(stmt, 0);
		int64_t version = sqlite3_column_int64(stmt, 1);
		if (i >= n || id == NULL || strcmp(id, sorted[i]->id) != 0 ||
		    version != sorted[i]->version)
			err = ZG_ERR_CONFLICT;
		i++;
		if (err != ZG_OK)
			break;
	}
	if (err == ZG_OK && rc != SQLITE_DONE)
		err = zg_sqlite_error(conn->db, rc, "root_rotate");
	else if (err == ZG_OK && i != n)
		err = ZG_ERR_CONFLICT;
	zg_sqlite_stmt_done(stmt);
	return err;
}

zg_err
zg_sqlite_root_rotate(zg_store *st, const char *root_key,
    const uint8_t *root_blob, size_t root_len, const zg_wrapped_key *keys,
    size_t n)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	const zg_wrapped_key **sorted = NULL;
	sqlite3_stmt *stmt = NULL;
	zg_sqlite_conn *conn = NULL;
	zg_err err = ZG_ERR_NOMEM;

	if (n > 0 && (sorted = calloc(n, sizeof(*sorted))) == NULL)
		return ZG_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		sorted[i] = &keys[i];
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), wkey_ptr_cmp);

	conn = zg_sqlite_writer_acquire_conn(s);
	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_BEGIN,
	    "BEGIN IMMEDIATE", "root_rotate")) != ZG_OK)
		goto out;
	if ((err = wkey_set_matches(conn, sorted, n)) != ZG_OK) {
		if (err == ZG_ERR_CONFLICT)
			zg_log_warn("root rotation aborted: the wrapped keys "
			    "changed meanwhile", ZGF_I("keys", n));
		goto out;
	}
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_WKEY_REWRAP,
	    "UPDATE wrapped_keys SET blob=? "
	    "WHERE id=? AND version=?", &stmt, "root_rotate")) != ZG_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int rc = SQLITE_OK;
		sqlite3_reset(stmt);
		zg_sqlite_bind_blob(stmt, 1, keys[i].blob, keys[i].blob_len,
		    &rc);
		zg_sqlite_bind_text(stmt, 2, keys[i].id, &rc);
		zg_sqlite_bind_int64(stmt, 3, keys[i].version, &rc);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(stmt);
		if (rc != SQLITE_DONE) {
			err = zg_sqlite_error(conn->db, rc, "root_rotate");
			goto out;
		}
	}
	if ((err = meta_upsert(conn, root_key, root_blob, root_len,
	    "root_rotate")) != ZG_OK)
		goto out;
	err = zg_sqlite_stmt_exec(conn, ZG_STMT_COMMIT,
	    "COMMIT", "root_rotate");
out:
	zg_sqlite_stmt_done(stmt);
	if (err != ZG_OK)
		zg_sqlite_rollback(conn->db);
	if (conn != NULL)
		zg_sqlite_writer_release(s);
	free(sorted);
	return err;
}
