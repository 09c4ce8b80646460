/* One-time leases and API tokens, in SQLite. */
#include "store/sqlite_internal.h"

#include <string.h>

#include "base/log.h"

#define TOKEN_COLUMNS                                                        \
	"id, hash, user_id, subject_type, scope, created_at, expires_at, "      \
	"revoked_at"

zg_err
zg_sqlite_lease_insert(zg_store *st, const uint8_t hash[32],
    const char *cred_id, uint32_t version, int64_t created_at,
    int64_t expires_at)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_LEASE_INSERT,
	    "INSERT INTO leases (hash, cred_id, "
	    "version, created_at, expires_at) VALUES (?, ?, ?, ?, ?)", &stmt,
	    "lease_insert")) != ZG_OK)
		goto out;
	zg_sqlite_bind_blob(stmt, 1, hash, 32, &rc);
	zg_sqlite_bind_text(stmt, 2, cred_id, &rc);
	zg_sqlite_bind_int64(stmt, 3, version, &rc);
	zg_sqlite_bind_int64(stmt, 4, created_at, &rc);
	zg_sqlite_bind_int64(stmt, 5, expires_at, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		err = ZG_OK;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		/* The lease names a credential version that does not exist. */
		err = ZG_ERR_NOT_FOUND;
	else
		err = zg_sqlite_error(conn->db, rc, "lease_insert");
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_writer_release(s);
	return err;
}

/* Returns ZG_ERR_GONE if a lease with this hash exists, else NOT_FOUND. */
static zg_err
lease_exists(zg_sqlite_conn *conn, const uint8_t hash[32])
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_LEASE_EXISTS,
	    "SELECT 1 FROM leases WHERE hash=?",
	    &stmt, "lease_redeem")) != ZG_OK)
		return err;
	zg_sqlite_bind_blob(stmt, 1, hash, 32, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		err = ZG_ERR_GONE;
	else if (rc == SQLITE_DONE)
		err = ZG_ERR_NOT_FOUND;
	else
		err = zg_sqlite_error(conn->db, rc, "lease_redeem");
	zg_sqlite_stmt_done(stmt);
	return err;
}

zg_err
zg_sqlite_lease_redeem(zg_store *st, const uint8_t hash[32], int64_t now,
    char cred_id[ZG_ID_MAX], uint32_t *version)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	cred_id[0] = '\0';
	*version = 0;
	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_BEGIN,
	    "BEGIN IMMEDIATE", "lease_redeem")) != ZG_OK)
		goto out;
	/* The check and the mark are one statement, so a lease is used once. */
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_LEASE_REDEEM,
	    "UPDATE leases SET used_at=?1 "
	    "WHERE hash=?2 AND used_at IS NULL AND expires_at>?1 "
	    "RETURNING cred_id, version", &stmt, "lease_redeem")) != ZG_OK)
		goto out;
	zg_sqlite_bind_int64(stmt, 1, now, &rc);
	zg_sqlite_bind_blob(stmt, 2, hash, 32, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		err = lease_exists(conn, hash);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = zg_sqlite_error(conn->db, rc, "lease_redeem");
		goto out;
	}
	if ((err = zg_sqlite_column_text(stmt, 0, cred_id, ZG_ID_MAX,
	    "lease_redeem")) != ZG_OK)
		goto out;
	*version = (uint32_t)sqlite3_column_int64(stmt, 1);
	/* The hash is the primary key, so the UPDATE matched one row. */
	if ((rc = sqlite3_step(stmt)) != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "lease_redeem");
		goto out;
	}
	/* COMMIT fails while a statement is still active. */
	zg_sqlite_stmt_done(stmt);
	stmt = NULL;
	err = zg_sqlite_stmt_exec(conn, ZG_STMT_COMMIT,
	    "COMMIT", "lease_redeem");
out:
	zg_sqlite_stmt_done(stmt);
	if (err != ZG_OK) {
		zg_sqlite_rollback(conn->db);
		cred_id[0] = '\0';
		*version = 0;
	}
	zg_sqlite_writer_release(s);
	return err;
}

zg_err
zg_sqlite_token_insert(zg_store *st, const zg_token_row *t)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_TOKEN_INSERT,
	    "INSERT INTO tokens (" TOKEN_COLUMNS
	    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)", &stmt, "token_insert")) != ZG_OK)
		goto out;
	zg_sqlite_bind_text(stmt, 1, t->id, &rc);
	zg_sqlite_bind_blob(stmt, 2, t->hash, sizeof(t->hash), &rc);
	zg_sqlite_bind_text(stmt, 3, t->user_id, &rc);
	zg_sqlite_bind_text(stmt, 4, t->subject_type[0] ? t->subject_type :
	    "user", &rc);
	if (t->scope[0] != '\0')
		zg_sqlite_bind_text(stmt, 5, t->scope, &rc);
	zg_sqlite_bind_int64(stmt, 6, t->created_at, &rc);
	zg_sqlite_bind_time(stmt, 7, t->expires_at, &rc);
	zg_sqlite_bind_time(stmt, 8, t->revoked_at, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	err = rc == SQLITE_DONE ? ZG_OK :
	    zg_sqlite_error(conn->db, rc, "token_insert");
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_writer_release(s);
	return err;
}

/* Fills t from a row selected with TOKEN_COLUMNS. */
static zg_err
token_from_row(sqlite3_stmt *stmt, zg_token_row *t, const char *op)
{
	zg_err err;

	if ((err = zg_sqlite_column_text(stmt, 0, t->id, sizeof(t->id),
	    op)) != ZG_OK)
		return err;
	const void *hash = sqlite3_column_blob(stmt, 1);
	if (hash == NULL || sqlite3_column_bytes(stmt, 1) != sizeof(t->hash)) {
		zg_log_error("stored token hash has the wrong length",
		    ZGF_S("op", op), ZGF_S("token_id", t->id));
		return ZG_ERR_STORE;
	}
	memcpy(t->hash, hash, sizeof(t->hash));
	if ((err = zg_sqlite_column_text(stmt, 2, t->user_id,
	    sizeof(t->user_id), op)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_column_text(stmt, 3, t->subject_type,
	    sizeof(t->subject_type), op)) != ZG_OK ||
	    (err = zg_sqlite_column_text(stmt, 4, t->scope, sizeof(t->scope),
	    op)) != ZG_OK)
		return err;
	t->created_at = sqlite3_column_int64(stmt, 5);
	t->expires_at = sqlite3_column_int64(stmt, 6);
	t->revoked_at = sqlite3_column_int64(stmt, 7);
	return ZG_OK;
}

/* Selects one token by id, or by hash when id is NULL. */
static zg_err
token_select(zg_store *st, zg_sqlite_stmt_id stmt_id, const char *sql,
    const char *id, const uint8_t *hash, zg_token_row *out, const char *op)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_sqlite_conn *conn = NULL;
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	memset(out, 0, sizeof(*out));
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, stmt_id, sql, &stmt, op)) != ZG_OK)
		goto out;
	if (id != NULL)
		zg_sqlite_bind_text(stmt, 1, id, &rc);
	else
		zg_sqlite_bind_blob(stmt, 1, hash, 32, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		err = ZG_ERR_NOT_FOUND;
	else if (rc != SQLITE_ROW)
		err = zg_sqlite_error(conn->db, rc, op);
	else
		err = token_from_row(stmt, out, op);
	if (err != ZG_OK)
		memset(out, 0, sizeof(*out));
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}

zg_err
zg_sqlite_token_get_by_hash(zg_store *st, const uint8_t hash[32],
    zg_token_row *out)
{
	return token_select(st, ZG_STMT_TOKEN_BY_HASH, "SELECT " TOKEN_COLUMNS
	    " FROM tokens WHERE hash=?", NULL, hash, out, "token_get_by_hash");
}

zg_err
zg_sqlite_token_get(zg_store *st, const char *id, zg_token_row *out)
{
	return token_select(st, ZG_STMT_TOKEN_BY_ID, "SELECT " TOKEN_COLUMNS
	    " FROM tokens WHERE id=?", id, NULL, out, "token_get");
}

/* Revoking twice keeps the first revocation time and returns ZG_OK. */
zg_err
zg_sqlite_token_revoke(zg_store *st, const char *id, int64_t now)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_TOKEN_REVOKE,
	    "UPDATE tokens SET "
	    "revoked_at=COALESCE(revoked_at, ?) WHERE id=?", &stmt,
	    "token_revoke")) != ZG_OK)
		goto out;
	zg_sqlite_bind_int64(stmt, 1, now, &rc);
	zg_sqlite_bind_text(stmt, 2, id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		err = zg_sqlite_error(conn->db, rc, "token_revoke");
	else
		err = sqlite3_changes(conn->db) > 0 ? ZG_OK : ZG_ERR_NOT_FOUND;
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_writer_release(s);
	return err;
}
