/* Error mapping, statement and column helpers for the SQLite backend. */
#include "store/sqlite_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

zg_err
zg_sqlite_error(sqlite3 *db, int rc, const char *op)
{
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return ZG_ERR_CONFLICT;
	/* SQLite's messages name tables and columns, never bound values. */
	zg_log_error("store operation failed", ZGF_S("op", op),
	    ZGF_I("sqlite_code", rc),
	    ZGF_S("sqlite", db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
	return ZG_ERR_STORE;
}

zg_err
zg_sqlite_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt,
    const char *op)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, stmt, NULL);
	if (rc != SQLITE_OK) {
		*stmt = NULL;
		zg_log_error("preparing a statement failed", ZGF_S("op", op),
		    ZGF_I("sqlite_code", rc), ZGF_S("sqlite", sqlite3_errmsg(db)));
		return ZG_ERR_STORE;
	}
	return ZG_OK;
}

zg_err
zg_sqlite_stmt(zg_sqlite_conn *conn, zg_sqlite_stmt_id id, const char *sql,
    sqlite3_stmt **stmt, const char *op)
{
	assert(id >= 0 && id < ZG_STMT_COUNT);
	if ((*stmt = conn->stmts[id]) != NULL) {
		assert(strcmp(sqlite3_sql(*stmt), sql) == 0);
		/* A statement still running here was not passed to _done. */
		assert(!sqlite3_stmt_busy(*stmt));
		return ZG_OK;
	}
	/*
	 * PERSISTENT tells SQLite that the statement is kept and reused, so
	 * it is not allocated from the connection's small lookaside memory.
	 */
	int rc = sqlite3_prepare_v3(conn->db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, stmt, NULL);
	if (rc != SQLITE_OK) {
		*stmt = NULL;
		zg_log_error("preparing a statement failed", ZGF_S("op", op),
		    ZGF_I("sqlite_code", rc),
		    ZGF_S("sqlite", sqlite3_errmsg(conn->db)));
		return ZG_ERR_STORE;
	}
	conn->stmts[id] = *stmt;
	return ZG_OK;
}

/*
 * sqlite3_reset returns the error of the last step, which the caller has
 * already handled, and it ends the statement's transaction either way, so
 * its result is ignored.
 */
void
zg_sqlite_stmt_done(sqlite3_stmt *stmt)
{
	if (stmt == NULL)
		return;
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

zg_err
zg_sqlite_stmt_exec(zg_sqlite_conn *conn, zg_sqlite_stmt_id id,
    const char *sql, const char *op)
{
	sqlite3_stmt *stmt;
	zg_err err;

	if ((err = zg_sqlite_stmt(conn, id, sql, &stmt, op)) != ZG_OK)
		return err;
	int rc = sqlite3_step(stmt);
	err = rc == SQLITE_DONE ? ZG_OK : zg_sqlite_error(conn->db, rc, op);
	zg_sqlite_stmt_done(stmt);
	return err;
}

void
zg_sqlite_conn_clear(zg_sqlite_conn *conn)
{
	for (int i = 0; i < ZG_STMT_COUNT; i++) {
		sqlite3_finalize(conn->stmts[i]);
		conn->stmts[i] = NULL;
	}
}

zg_err
zg_sqlite_exec(sqlite3 *db, const char *sql, const char *op)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return zg_sqlite_error(db, rc, op);
	return ZG_OK;
}

void
zg_sqlite_rollback(sqlite3 *db)
{
	if (db == NULL || sqlite3_get_autocommit(db))
		return;
	int rc = sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		zg_log_error("rollback failed", ZGF_I("sqlite_code", rc),
		    ZGF_S("sqlite", sqlite3_errmsg(db)));
}

void
zg_sqlite_bind_text(sqlite3_stmt *stmt, int i, const char *s, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
}

void
zg_sqlite_bind_blob(sqlite3_stmt *stmt, int i, const uint8_t *p, size_t len,
    int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	/* A NULL pointer would bind SQL NULL, but an empty value is a blob. */
	if (len == 0)
		*rc = sqlite3_bind_zeroblob(stmt, i, 0);
	else
		*rc = sqlite3_bind_blob64(stmt, i, p, len, SQLITE_STATIC);
}

void
zg_sqlite_bind_int64(sqlite3_stmt *stmt, int i, int64_t v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(stmt, i, v);
}

void
zg_sqlite_bind_time(sqlite3_stmt *stmt, int i, int64_t t, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	if (t == 0)
		*rc = sqlite3_bind_null(stmt, i);
	else
		*rc = sqlite3_bind_int64(stmt, i, t);
}

zg_err
zg_sqlite_column_text(sqlite3_stmt *stmt, int col, char *dst, size_t dstsz,
    const char *op)
{
	dst[0] = '\0';
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return ZG_OK;
	const unsigned char *t = sqlite3_column_text(stmt, col);
	if (t == NULL)
		return ZG_ERR_NOMEM;
	size_t n = (size_t)sqlite3_column_bytes(stmt, col);
	if (n >= dstsz) {
		zg_log_error("stored value is too long", ZGF_S("op", op),
		    ZGF_S("column", sqlite3_column_name(stmt, col)),
		    ZGF_I("length", n), ZGF_I("max", dstsz - 1));
		return ZG_ERR_STORE;
	}
	memcpy(dst, t, n);
	dst[n] = '\0';
	return ZG_OK;
}

zg_err
zg_sqlite_column_strdup(sqlite3_stmt *stmt, int col, char **out)
{
	*out = NULL;
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return ZG_OK;
	const unsigned char *t = sqlite3_column_text(stmt, col);
	if (t == NULL)
		return ZG_ERR_NOMEM;
	size_t n = (size_t)sqlite3_column_bytes(stmt, col);
	if ((*out = malloc(n + 1)) == NULL)
		return ZG_ERR_NOMEM;
	memcpy(*out, t, n);
	(*out)[n] = '\0';
	return ZG_OK;
}

zg_err
zg_sqlite_column_blob(sqlite3_stmt *stmt, int col, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return ZG_OK;
	/* Call blob before bytes, as SQLite's documentation advises. */
	const void *p = sqlite3_column_blob(stmt, col);
	size_t n = (size_t)sqlite3_column_bytes(stmt, col);
	if (p == NULL && n > 0)
		return ZG_ERR_NOMEM;
	if ((*out = malloc(n > 0 ? n : 1)) == NULL)
		return ZG_ERR_NOMEM;
	if (n > 0)
		memcpy(*out, p, n);
	*len = n;
	return ZG_OK;
}
