/*
 * Generic objects and named counters for the SQLite backend.
 *
 * Every write checks the stored revision inside one BEGIN IMMEDIATE
 * transaction on the writer connection, so two writers that read the same
 * revision cannot both win: the second gets ZG_ERR_CONFLICT and retries
 * from a fresh read. Counters are plain rows updated in the same kind of
 * transaction, which makes them safe to share between processes.
 */
#include "store/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define OBJ_COLUMNS \
	"kind, id, owner, body, blob, rev, created_at, updated_at"

void
zg_obj_row_free(zg_obj_row *r)
{
	if (r == NULL)
		return;
	free(r->body_json);
	if (r->blob != NULL)
		OPENSSL_cleanse(r->blob, r->blob_len);
	free(r->blob);
	memset(r, 0, sizeof(*r));
}

void
zg_obj_rows_free(zg_obj_row *rows, size_t n)
{
	if (rows == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		zg_obj_row_free(&rows[i]);
	free(rows);
}

static zg_err
read_row(sqlite3_stmt *stmt, zg_obj_row *r, const char *op)
{
	zg_err err;
	memset(r, 0, sizeof(*r));
	if ((err = zg_sqlite_column_text(stmt, 0, r->kind, sizeof(r->kind),
	    op)) != ZG_OK ||
	    (err = zg_sqlite_column_text(stmt, 1, r->id, sizeof(r->id),
	    op)) != ZG_OK ||
	    (err = zg_sqlite_column_text(stmt, 2, r->owner, sizeof(r->owner),
	    op)) != ZG_OK ||
	    (err = zg_sqlite_column_strdup(stmt, 3, &r->body_json)) != ZG_OK ||
	    (err = zg_sqlite_column_blob(stmt, 4, &r->blob,
	    &r->blob_len)) != ZG_OK) {
		zg_obj_row_free(r);
		return err;
	}
	r->rev = sqlite3_column_int64(stmt, 5);
	r->created_at = sqlite3_column_int64(stmt, 6);
	r->updated_at = sqlite3_column_int64(stmt, 7);
	if (r->body_json == NULL) {
		zg_obj_row_free(r);
		return ZG_ERR_INTEGRITY;
	}
	return ZG_OK;
}

zg_err
zg_sqlite_obj_get(zg_store *st, const char *kind, const char *id,
    zg_obj_row *out)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	memset(out, 0, sizeof(*out));
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_OBJ_GET,
	    "SELECT " OBJ_COLUMNS " FROM objects WHERE kind=? AND id=?",
	    &stmt, "obj_get")) != ZG_OK)
		goto out;
	zg_sqlite_bind_text(stmt, 1, kind, &rc);
	zg_sqlite_bind_text(stmt, 2, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		err = ZG_ERR_NOT_FOUND;
	else if (rc != SQLITE_ROW)
		err = zg_sqlite_error(conn->db, rc, "obj_get");
	else
		err = read_row(stmt, out, "obj_get");
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}

zg_err
zg_sqlite_obj_list(zg_store *st, const char *kind, const char *owner,
    const char *prefix, const char *after, size_t limit, zg_obj_row **rows,
    size_t *n)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	zg_obj_row *arr = NULL;
	size_t count = 0;
	zg_err err;
	int rc = SQLITE_OK;

	*rows = NULL;
	*n = 0;
	if (limit == 0)
		return ZG_OK;
	if ((arr = calloc(limit < 64 ? limit : 64, sizeof(*arr))) == NULL)
		return ZG_ERR_NOMEM;
	size_t cap = limit < 64 ? limit : 64;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		goto out;
	/* The range on id keeps the scan on the primary key; the prefix
	 * test then only looks at rows inside it. */
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_OBJ_LIST,
	    "SELECT " OBJ_COLUMNS " FROM objects "
	    "WHERE kind=?1 AND (?2 IS NULL OR owner=?2) AND id>?3 "
	    "AND substr(id, 1, length(?4))=?4 ORDER BY id LIMIT ?5",
	    &stmt, "obj_list")) != ZG_OK)
		goto out;
	zg_sqlite_bind_text(stmt, 1, kind, &rc);
	if (owner != NULL)
		zg_sqlite_bind_text(stmt, 2, owner, &rc);
	zg_sqlite_bind_text(stmt, 3, after != NULL ? after : "", &rc);
	zg_sqlite_bind_text(stmt, 4, prefix != NULL ? prefix : "", &rc);
	zg_sqlite_bind_int64(stmt, 5, (int64_t)limit, &rc);
	if (rc != SQLITE_OK) {
		err = zg_sqlite_error(conn->db, rc, "obj_list");
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			size_t ncap = cap * 2;
			zg_obj_row *p = realloc(arr, ncap * sizeof(*arr));
			if (p == NULL) {
				err = ZG_ERR_NOMEM;
				goto out;
			}
			arr = p;
			cap = ncap;
		}
		if ((err = read_row(stmt, &arr[count], "obj_list")) != ZG_OK)
			goto out;
		count++;
	}
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "obj_list");
		goto out;
	}
	*rows = arr;
	*n = count;
	arr = NULL;
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	if (conn != NULL)
		zg_sqlite_reader_release(s, conn);
	zg_obj_rows_free(arr, count);
	return err;
}

/* The stored revision of (kind, id), 0 if absent; inside a transaction. */
static zg_err
stored_rev(zg_sqlite_conn *conn, const char *kind, const char *id,
    int64_t *rev)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	*rev = 0;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_OBJ_REV,
	    "SELECT rev FROM objects WHERE kind=? AND id=?", &stmt,
	    "obj_rev")) != ZG_OK)
		return err;
	zg_sqlite_bind_text(stmt, 1, kind, &rc);
	zg_sqlite_bind_text(stmt, 2, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*rev = sqlite3_column_int64(stmt, 0);
	else if (rc != SQLITE_DONE)
		err = zg_sqlite_error(conn->db, rc, "obj_rev");
	zg_sqlite_stmt_done(stmt);
	return err;
}

/* Compares the stored revision with the one the caller expects. */
static zg_err
check_rev(int64_t have, int64_t expect)
{
	if (expect == ZG_REV_ANY)
		return ZG_OK;
	if (expect == ZG_REV_NEW)
		return have == 0 ? ZG_OK : ZG_ERR_CONFLICT;
	if (have == 0)
		return ZG_ERR_NOT_FOUND;
	return have == expect ? ZG_OK : ZG_ERR_CONFLICT;
}

static zg_err
do_put(zg_sqlite_conn *conn, const zg_obj_row *row, int64_t expect,
    int64_t *new_rev)
{
	sqlite3_stmt *stmt = NULL;
	int64_t have;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = stored_rev(conn, row->kind, row->id, &have)) != ZG_OK)
		return err;
	if ((err = check_rev(have, expect)) != ZG_OK)
		return err;
	if (have == 0)
		err = zg_sqlite_stmt(conn, ZG_STMT_OBJ_INSERT,
		    "INSERT INTO objects (" OBJ_COLUMNS ") "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &stmt, "obj_put");
	else
		err = zg_sqlite_stmt(conn, ZG_STMT_OBJ_UPDATE,
		    "UPDATE objects SET owner=?3, body=?4, blob=?5, rev=?6, "
		    "updated_at=?8 WHERE kind=?1 AND id=?2", &stmt, "obj_put");
	if (err != ZG_OK)
		return err;
	zg_sqlite_bind_text(stmt, 1, row->kind, &rc);
	zg_sqlite_bind_text(stmt, 2, row->id, &rc);
	zg_sqlite_bind_text(stmt, 3, row->owner, &rc);
	zg_sqlite_bind_text(stmt, 4, row->body_json ? row->body_json : "null",
	    &rc);
	if (row->blob != NULL)
		zg_sqlite_bind_blob(stmt, 5, row->blob, row->blob_len, &rc);
	zg_sqlite_bind_int64(stmt, 6, have + 1, &rc);
	zg_sqlite_bind_int64(stmt, 7, row->created_at, &rc);
	zg_sqlite_bind_int64(stmt, 8, row->updated_at, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		err = zg_sqlite_error(conn->db, rc, "obj_put");
	else if (new_rev != NULL)
		*new_rev = have + 1;
	zg_sqlite_stmt_done(stmt);
	return err;
}

static zg_err
do_delete(zg_sqlite_conn *conn, const char *kind, const char *id,
    int64_t expect)
{
	sqlite3_stmt *stmt = NULL;
	int64_t have;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = stored_rev(conn, kind, id, &have)) != ZG_OK)
		return err;
	if (have == 0)
		return ZG_ERR_NOT_FOUND;
	if ((err = check_rev(have, expect)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_OBJ_DELETE,
	    "DELETE FROM objects WHERE kind=? AND id=?", &stmt,
	    "obj_delete")) != ZG_OK)
		return err;
	zg_sqlite_bind_text(stmt, 1, kind, &rc);
	zg_sqlite_bind_text(stmt, 2, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		err = zg_sqlite_error(conn->db, rc, "obj_delete");
	zg_sqlite_stmt_done(stmt);
	return err;
}

static zg_err
do_counter(zg_sqlite_conn *conn, const char *name, int64_t delta,
    int64_t *value)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_COUNTER_ADD,
	    "INSERT INTO counters (name, value) VALUES (?1, ?2) "
	    "ON CONFLICT (name) DO UPDATE SET value=value+?2 "
	    "RETURNING value", &stmt, "counter_add")) != ZG_OK)
		return err;
	zg_sqlite_bind_text(stmt, 1, name, &rc);
	zg_sqlite_bind_int64(stmt, 2, delta, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		if (value != NULL)
			*value = sqlite3_column_int64(stmt, 0);
		rc = sqlite3_step(stmt);
	}
	if (rc != SQLITE_DONE)
		err = zg_sqlite_error(conn->db, rc, "counter_add");
	zg_sqlite_stmt_done(stmt);
	return err;
}

zg_err
zg_sqlite_obj_apply(zg_store *st, const zg_obj_op *ops, size_t n,
    size_t *failed)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	zg_err err;
	size_t i = 0;

	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_BEGIN,
	    "BEGIN IMMEDIATE", "obj_apply")) != ZG_OK)
		goto out;
	for (i = 0; i < n; i++) {
		const zg_obj_op *op = &ops[i];
		if (op->type == ZG_OBJ_PUT)
			err = do_put(conn, op->row, op->expect_rev, NULL);
		else if (op->type == ZG_OBJ_DELETE)
			err = do_delete(conn, op->row->kind, op->row->id,
			    op->expect_rev);
		else
			err = do_counter(conn, op->row->id, op->delta, NULL);
		if (err != ZG_OK)
			goto out;
	}
	err = zg_sqlite_stmt_exec(conn, ZG_STMT_COMMIT, "COMMIT", "obj_apply");
out:
	if (err != ZG_OK) {
		zg_sqlite_rollback(conn->db);
		if (failed != NULL)
			*failed = i;
	}
	zg_sqlite_writer_release(s);
	return err;
}

zg_err
zg_sqlite_obj_put(zg_store *st, const zg_obj_row *row, int64_t expect_rev,
    int64_t *new_rev)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	zg_err err;

	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_BEGIN,
	    "BEGIN IMMEDIATE", "obj_put")) != ZG_OK)
		goto out;
	if ((err = do_put(conn, row, expect_rev, new_rev)) != ZG_OK)
		goto out;
	err = zg_sqlite_stmt_exec(conn, ZG_STMT_COMMIT, "COMMIT", "obj_put");
out:
	if (err != ZG_OK)
		zg_sqlite_rollback(conn->db);
	zg_sqlite_writer_release(s);
	return err;
}

zg_err
zg_sqlite_obj_delete(zg_store *st, const char *kind, const char *id,
    int64_t expect_rev)
{
	zg_obj_row key;
	zg_obj_op op = {ZG_OBJ_DELETE, &key, expect_rev, 0};
	memset(&key, 0, sizeof(key));
	if (strlen(kind) >= sizeof(key.kind) || strlen(id) >= sizeof(key.id))
		return ZG_ERR_NOT_FOUND;
	strcpy(key.kind, kind);
	strcpy(key.id, id);
	return zg_sqlite_obj_apply(st, &op, 1, NULL);
}

zg_err
zg_sqlite_counter_add(zg_store *st, const char *name, int64_t delta,
    int64_t *value)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if (delta != 0) {
		conn = zg_sqlite_writer_acquire_conn(s);
		err = do_counter(conn, name, delta, value);
		zg_sqlite_writer_release(s);
		return err;
	}
	/* Reading takes a reader, so version checks on every request do
	 * not queue behind writes. */
	*value = 0;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_COUNTER_GET,
	    "SELECT value FROM counters WHERE name=?", &stmt,
	    "counter_get")) != ZG_OK)
		goto out;
	zg_sqlite_bind_text(stmt, 1, name, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*value = sqlite3_column_int64(stmt, 0);
	else if (rc != SQLITE_DONE)
		err = zg_sqlite_error(conn->db, rc, "counter_get");
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}
