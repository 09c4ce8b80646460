/* Credentials and their versions, in SQLite. */
#include "store/sqlite_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define CRED_COLUMNS                                                         \
	"id, owner, name, type, metadata, permissions, current_version, "    \
	"created_at, updated_at, expires_at, revoked_at"

/* Fills c from a row selected with CRED_COLUMNS. */
static zg_err
cred_from_row(sqlite3_stmt *stmt, zg_cred_row *c, const char *op)
{
	zg_err err;

	memset(c, 0, sizeof(*c));
	if ((err = zg_sqlite_column_text(stmt, 0, c->id, sizeof(c->id),
	    op)) != ZG_OK ||
	    (err = zg_sqlite_column_text(stmt, 1, c->owner, sizeof(c->owner),
	    op)) != ZG_OK ||
	    (err = zg_sqlite_column_text(stmt, 2, c->name, sizeof(c->name),
	    op)) != ZG_OK ||
	    (err = zg_sqlite_column_text(stmt, 3, c->type, sizeof(c->type),
	    op)) != ZG_OK ||
	    (err = zg_sqlite_column_strdup(stmt, 4, &c->metadata_json)) !=
	    ZG_OK ||
	    (err = zg_sqlite_column_strdup(stmt, 5, &c->permissions_json)) !=
	    ZG_OK) {
		zg_cred_row_free(c);
		return err;
	}
	c->current_version = (uint32_t)sqlite3_column_int64(stmt, 6);
	c->created_at = sqlite3_column_int64(stmt, 7);
	c->updated_at = sqlite3_column_int64(stmt, 8);
	c->expires_at = sqlite3_column_int64(stmt, 9);
	c->revoked_at = sqlite3_column_int64(stmt, 10);
	return ZG_OK;
}

/*
 * Inserts the credential and its first version. The version row takes its
 * credential id from c, so v->cred_id is not read.
 */
zg_err
zg_sqlite_cred_insert(zg_store *st, const zg_cred_row *c,
    const zg_cred_version_row *v)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	assert(v->version == c->current_version);
	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_BEGIN,
	    "BEGIN IMMEDIATE", "cred_insert")) != ZG_OK)
		goto out;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_CRED_INSERT,
	    "INSERT INTO credentials ("
	    CRED_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &stmt,
	    "cred_insert")) != ZG_OK)
		goto out;
	zg_sqlite_bind_text(stmt, 1, c->id, &rc);
	zg_sqlite_bind_text(stmt, 2, c->owner, &rc);
	zg_sqlite_bind_text(stmt, 3, c->name, &rc);
	zg_sqlite_bind_text(stmt, 4, c->type, &rc);
	/* Absent metadata or permissions are stored as empty JSON values. */
	zg_sqlite_bind_text(stmt, 5, c->metadata_json ? c->metadata_json : "{}",
	    &rc);
	zg_sqlite_bind_text(stmt, 6,
	    c->permissions_json ? c->permissions_json : "[]", &rc);
	zg_sqlite_bind_int64(stmt, 7, c->current_version, &rc);
	zg_sqlite_bind_int64(stmt, 8, c->created_at, &rc);
	zg_sqlite_bind_int64(stmt, 9, c->updated_at, &rc);
	zg_sqlite_bind_time(stmt, 10, c->expires_at, &rc);
	zg_sqlite_bind_time(stmt, 11, c->revoked_at, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "cred_insert");
		goto out;
	}
	zg_sqlite_stmt_done(stmt);
	stmt = NULL;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_VERSION_INSERT,
	    "INSERT INTO credential_versions "
	    "(cred_id, version, blob, created_at) VALUES (?, ?, ?, ?)", &stmt,
	    "cred_insert")) != ZG_OK)
		goto out;
	rc = SQLITE_OK;
	zg_sqlite_bind_text(stmt, 1, c->id, &rc);
	zg_sqlite_bind_int64(stmt, 2, v->version, &rc);
	zg_sqlite_bind_blob(stmt, 3, v->blob, v->blob_len, &rc);
	zg_sqlite_bind_int64(stmt, 4, v->created_at, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "cred_insert");
		goto out;
	}
	err = zg_sqlite_stmt_exec(conn, ZG_STMT_COMMIT,
	    "COMMIT", "cred_insert");
out:
	zg_sqlite_stmt_done(stmt);
	if (err != ZG_OK)
		zg_sqlite_rollback(conn->db);
	zg_sqlite_writer_release(s);
	return err;
}

zg_err
zg_sqlite_cred_get(zg_store *st, const char *id, zg_cred_row *out)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	memset(out, 0, sizeof(*out));
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_CRED_GET, "SELECT " CRED_COLUMNS
	    " FROM credentials WHERE id=?", &stmt, "cred_get")) != ZG_OK)
		goto out;
	zg_sqlite_bind_text(stmt, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		err = ZG_ERR_NOT_FOUND;
	else if (rc != SQLITE_ROW)
		err = zg_sqlite_error(conn->db, rc, "cred_get");
	else
		err = cred_from_row(stmt, out, "cred_get");
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}

zg_err
zg_sqlite_cred_list(zg_store *st, const char *owner, const char *after,
    size_t limit, zg_cred_row **rows, size_t *n)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	zg_cred_row *arr = NULL;
	size_t count = 0;
	zg_err err;
	int rc = SQLITE_OK;

	*rows = NULL;
	*n = 0;
	if (limit == 0)
		return ZG_OK;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if (owner != NULL)
		err = zg_sqlite_stmt(conn, ZG_STMT_CRED_LIST_OWNER, "SELECT "
		    CRED_COLUMNS " FROM credentials WHERE owner=?3 AND id>?1 "
		    "ORDER BY id LIMIT ?2", &stmt, "cred_list");
	else
		err = zg_sqlite_stmt(conn, ZG_STMT_CRED_LIST, "SELECT "
		    CRED_COLUMNS " FROM credentials WHERE id>?1 "
		    "ORDER BY id LIMIT ?2", &stmt, "cred_list");
	if (err != ZG_OK)
		goto out;
	/* Every id is longer than "", so "" starts at the first row. */
	zg_sqlite_bind_text(stmt, 1, after != NULL ? after : "", &rc);
	zg_sqlite_bind_int64(stmt, 2, limit > INT64_MAX ? INT64_MAX :
	    (int64_t)limit, &rc);
	if (owner != NULL)
		zg_sqlite_bind_text(stmt, 3, owner, &rc);
	if (rc != SQLITE_OK) {
		err = zg_sqlite_error(conn->db, rc, "cred_list");
		goto out;
	}
	size_t cap = limit < 64 ? limit : 64;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (arr == NULL || count == cap) {
			size_t ncap = arr == NULL ? cap : cap * 2;
			zg_cred_row *p = realloc(arr, ncap * sizeof(*arr));
			if (p == NULL) {
				err = ZG_ERR_NOMEM;
				goto out;
			}
			arr = p;
			cap = ncap;
		}
		if ((err = cred_from_row(stmt, &arr[count], "cred_list")) !=
		    ZG_OK)
			goto out;
		count++;
	}
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "cred_list");
		goto out;
	}
	/* success */
	*rows = arr;
	*n = count;
	arr = NULL;
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	zg_cred_rows_free(arr, count);
	return err;
}

/*
 * Reads the current version and revocation time of a credential inside the
 * writer's transaction. ZG_ERR_NOT_FOUND if there is no such credential.
 */
static zg_err
cred_state(zg_sqlite_conn *conn, const char *id, int64_t *current,
    int64_t *revoked_at, const char *op)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_CRED_STATE,
	    "SELECT current_version, revoked_at "
	    "FROM credentials WHERE id=?", &stmt, op)) != ZG_OK)
		return err;
	zg_sqlite_bind_text(stmt, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*current = sqlite3_column_int64(stmt, 0);
		*revoked_at = sqlite3_column_int64(stmt, 1);
		err = ZG_OK;
	} else if (rc == SQLITE_DONE)
		err = ZG_ERR_NOT_FOUND;
	else
		err = zg_sqlite_error(conn->db, rc, op);
	zg_sqlite_stmt_done(stmt);
	return err;
}

zg_err
zg_sqlite_cred_add_version(zg_store *st, const zg_cred_version_row *v,
    int64_t now)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int64_t current, revoked_at;
	zg_err err;
	int rc = SQLITE_OK;

	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_BEGIN, "BEGIN IMMEDIATE",
	    "cred_add_version")) != ZG_OK)
		goto out;
	if ((err = cred_state(conn, v->cred_id, &current, &revoked_at,
	    "cred_add_version")) != ZG_OK)
		goto out;
	if (revoked_at != 0) {
		err = ZG_ERR_REVOKED;
		goto out;
	}
	if ((int64_t)v->version != current + 1) {
		err = ZG_ERR_CONFLICT;
		goto out;
	}
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_VERSION_INSERT,
	    "INSERT INTO credential_versions "
	    "(cred_id, version, blob, created_at) VALUES (?, ?, ?, ?)", &stmt,
	    "cred_add_version")) != ZG_OK)
		goto out;
	zg_sqlite_bind_text(stmt, 1, v->cred_id, &rc);
	zg_sqlite_bind_int64(stmt, 2, v->version, &rc);
	zg_sqlite_bind_blob(stmt, 3, v->blob, v->blob_len, &rc);
	zg_sqlite_bind_int64(stmt, 4, v->created_at, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "cred_add_version");
		goto out;
	}
	zg_sqlite_stmt_done(stmt);
	stmt = NULL;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_CRED_SET_VERSION,
	    "UPDATE credentials SET "
	    "current_version=?, updated_at=? WHERE id=?", &stmt,
	    "cred_add_version")) != ZG_OK)
		goto out;
	rc = SQLITE_OK;
	zg_sqlite_bind_int64(stmt, 1, v->version, &rc);
	zg_sqlite_bind_int64(stmt, 2, now, &rc);
	zg_sqlite_bind_text(stmt, 3, v->cred_id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "cred_add_version");
		goto out;
	}
	err = zg_sqlite_stmt_exec(conn, ZG_STMT_COMMIT,
	    "COMMIT", "cred_add_version");
out:
	zg_sqlite_stmt_done(stmt);
	if (err != ZG_OK)
		zg_sqlite_rollback(conn->db);
	zg_sqlite_writer_release(s);
	return err;
}

zg_err
zg_sqlite_cred_get_version(zg_store *st, const char *id, uint32_t version,
    zg_cred_version_row *out)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	memset(out, 0, sizeof(*out));
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_VERSION_GET,
	    "SELECT cred_id, version, blob, "
	    "created_at FROM credential_versions WHERE cred_id=? AND version=?",
	    &stmt, "cred_get_version")) != ZG_OK)
		goto out;
	zg_sqlite_bind_text(stmt, 1, id, &rc);
	zg_sqlite_bind_int64(stmt, 2, version, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		err = ZG_ERR_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = zg_sqlite_error(conn->db, rc, "cred_get_version");
		goto out;
	}
	if ((err = zg_sqlite_column_text(stmt, 0, out->cred_id,
	    sizeof(out->cred_id), "cred_get_version")) != ZG_OK)
		goto out;
	out->version = (uint32_t)sqlite3_column_int64(stmt, 1);
	if ((err = zg_sqlite_column_blob(stmt, 2, &out->blob,
	    &out->blob_len)) != ZG_OK)
		goto out;
	out->created_at = sqlite3_column_int64(stmt, 3);
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}

/*
 * Copies the WAL back into the database file and truncates the WAL, so the
 * erased blobs survive in neither. This is best effort: a reader with an
 * open transaction on an older snapshot makes it fail, and the next
 * checkpoint finishes the job.
 * NOTE: the checkpoint waits up to ZG_SQLITE_BUSY_TIMEOUT_MS for readers
 * while the caller holds the writer lock, so writes stall that long.
 */
static void
checkpoint_truncate(zg_sqlite_conn *conn, const char *id)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	/* This runs once per revocation, so it is not cached. */
	if (zg_sqlite_prepare(conn->db, "PRAGMA wal_checkpoint(TRUNCATE)",
	    &stmt, "cred_revoke") != ZG_OK)
		return;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW)
		zg_log_warn("WAL checkpoint after revocation failed, so erased "
		    "blobs may remain in the WAL until the next checkpoint",
		    ZGF_S("cred_id", id), ZGF_I("sqlite_code", rc),
		    ZGF_S("sqlite", sqlite3_errmsg(conn->db)));
	else if (sqlite3_column_int(stmt, 0) != 0)
		zg_log_warn("WAL checkpoint after revocation was blocked by "
		    "readers, so erased blobs may remain in the WAL until the "
		    "next checkpoint", ZGF_S("cred_id", id));
	sqlite3_finalize(stmt);
}

zg_err
zg_sqlite_cred_revoke(zg_store *st, const char *id, int64_t now)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int64_t current, revoked_at;
	zg_err err;
	int rc = SQLITE_OK;

	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_BEGIN,
	    "BEGIN IMMEDIATE", "cred_revoke")) != ZG_OK)
		goto out;
	if ((err = cred_state(conn, id, &current, &revoked_at,
	    "cred_revoke")) != ZG_OK)
		goto out;
	/* A second revocation keeps the first time but erases again. */
	if (revoked_at == 0) {
		if ((err = zg_sqlite_stmt(conn, ZG_STMT_CRED_SET_REVOKED,
		    "UPDATE credentials SET "
		    "revoked_at=?1, updated_at=?1 WHERE id=?2", &stmt,
		    "cred_revoke")) != ZG_OK)
			goto out;
		zg_sqlite_bind_int64(stmt, 1, now, &rc);
		zg_sqlite_bind_text(stmt, 2, id, &rc);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(stmt);
		if (rc != SQLITE_DONE) {
			err = zg_sqlite_error(conn->db, rc, "cred_revoke");
			goto out;
		}
		zg_sqlite_stmt_done(stmt);
		stmt = NULL;
	}
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_VERSION_ERASE,
	    "UPDATE credential_versions SET "
	    "blob=NULL WHERE cred_id=? AND blob IS NOT NULL", &stmt,
	    "cred_revoke")) != ZG_OK)
		goto out;
	rc = SQLITE_OK;
	zg_sqlite_bind_text(stmt, 1, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "cred_revoke");
		goto out;
	}
	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_COMMIT,
	    "COMMIT", "cred_revoke")) != ZG_OK)
		goto out;
	checkpoint_truncate(conn, id);
out:
	zg_sqlite_stmt_done(stmt);
	if (err != ZG_OK)
		zg_sqlite_rollback(conn->db);
	zg_sqlite_writer_release(s);
	return err;
}
