/*
 * The search index of the audit log in SQLite, and the search itself.
 *
 * audit_search contains one row (kind, hmac, leaf_index) per event and kind:
 * kind 0 is the keyed hash of the user, kind 1 that of the resource. The
 * keys are random 32-byte HMACs, so every insert lands on a random page of
 * the b-tree. Doing those inserts inside each durable append cost more than
 * the rest of the commit, so audit_append stores only the events and
 * audit_index_catch_up adds their index rows later, in large batches
 * sorted by key, and without an fsync of its own.
 *
 * audit_search_cursor contains one row whose last_indexed is the highest
 * leaf index that the index covers, or -1 for none. Invariant: every stored
 * event with leaf_index <= last_indexed has both of its rows in
 * audit_search. Catch-up moves the cursor forward in the transaction that
 * inserts the rows. audit_append keeps the invariant for an event it
 * stores at or below the cursor by inserting that event's rows itself,
 * which the writer of the log never needs because it appends in order.
 *
 * A search reads the rows at or below the cursor from audit_search, and
 * scans the events above it, the tail, comparing their hash columns. One
 * statement does both in one read transaction, so the cursor and the rows
 * it reads belong to the same snapshot, and SQLite merges the two ordered
 * parts up to the limit.
 */
#include "store/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* The cursor as an SQL expression. Without its row, no event is indexed. */
#define CURSOR "coalesce((SELECT last_indexed FROM audit_search_cursor), -1)"

/*
 * Search queries, indexed by (user_hmac != NULL) | (resource_hmac != NULL)
 * << 1. Parameters: ?1 from, ?2 limit, ?3 user_hmac, ?4 resource_hmac.
 * A search for both walks the user's rows and checks the resource in the
 * event row, as the former per-column indexes did.
 */
static const char *const search_queries[4] = {
	ZG_SQLITE_EVENTS_QUERY,

	"SELECT s.leaf_index, e.canonical, e.timestamp FROM audit_search AS s "
	"JOIN audit_events AS e ON e.leaf_index=s.leaf_index "
	"WHERE s.kind=0 AND s.hmac=?3 AND s.leaf_index>=?1 "
	"AND s.leaf_index<=" CURSOR " "
	"UNION ALL "
	"SELECT leaf_index, canonical, timestamp FROM audit_events "
	"WHERE leaf_index>" CURSOR " AND leaf_index>=?1 AND user_hmac=?3 "
	"ORDER BY 1 LIMIT ?2",

	"SELECT s.leaf_index, e.canonical, e.timestamp FROM audit_search AS s "
	"JOIN audit_events AS e ON e.leaf_index=s.leaf_index "
	"WHERE s.kind=1 AND s.hmac=?4 AND s.leaf_index>=?1 "
	"AND s.leaf_index<=" CURSOR " "
	"UNION ALL "
	"SELECT leaf_index, canonical, timestamp FROM audit_events "
	"WHERE leaf_index>" CURSOR " AND leaf_index>=?1 AND resource_hmac=?4 "
	"ORDER BY 1 LIMIT ?2",

	"SELECT s.leaf_index, e.canonical, e.timestamp FROM audit_search AS s "
	"JOIN audit_events AS e ON e.leaf_index=s.leaf_index "
	"WHERE s.kind=0 AND s.hmac=?3 AND s.leaf_index>=?1 "
	"AND s.leaf_index<=" CURSOR " AND e.resource_hmac=?4 "
	"UNION ALL "
	"SELECT leaf_index, canonical, timestamp FROM audit_events "
	"WHERE leaf_index>" CURSOR " AND leaf_index>=?1 AND user_hmac=?3 "
	"AND resource_hmac=?4 "
	"ORDER BY 1 LIMIT ?2",
};

/* Reads the cursor in the writer's open transaction, or -1 without a row. */
static zg_err
cursor_get(zg_sqlite_conn *conn, int64_t *last, const char *op)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc;

	*last = -1;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_CURSOR_GET,
	    "SELECT last_indexed FROM audit_search_cursor WHERE id=0", &stmt,
	    op)) != ZG_OK)
		return err;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*last = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_DONE;
	}
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, op);
		goto out;
	}
	if (*last < -1) {
		zg_log_error("stored audit search cursor is negative",
		    ZGF_I("last_indexed", *last));
		*last = -1;
		err = ZG_ERR_INTEGRITY;
		goto out;
	}
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	return err;
}

zg_err
zg_sqlite_audit_index_below(zg_sqlite_conn *conn,
    const zg_audit_append_row *events, size_t n)
{
	sqlite3_stmt *stmt = NULL;
	int64_t last;
	zg_err err;

	if (n == 0)
		return ZG_OK;
	if ((err = cursor_get(conn, &last, "audit_append")) != ZG_OK)
		return err;
	for (size_t i = 0; i < n; i++) {
		const zg_audit_append_row *e = &events[i];
		int rc = SQLITE_OK;

		if ((int64_t)e->leaf_index > last)
			continue;
		if (stmt == NULL && (err = zg_sqlite_stmt(conn,
		    ZG_STMT_AUDIT_INDEX_EVENT, "INSERT OR IGNORE INTO "
		    "audit_search (kind, hmac, leaf_index) "
		    "VALUES (0, ?1, ?3), (1, ?2, ?3)", &stmt,
		    "audit_append")) != ZG_OK)
			goto out;
		zg_sqlite_bind_blob(stmt, 1, e->user_hmac, sizeof(e->user_hmac),
		    &rc);
		zg_sqlite_bind_blob(stmt, 2, e->resource_hmac,
		    sizeof(e->resource_hmac), &rc);
		zg_sqlite_bind_int64(stmt, 3, (int64_t)e->leaf_index, &rc);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE) {
			err = zg_sqlite_error(conn->db, rc, "audit_append");
			goto out;
		}
	}
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	return err;
}

/*
 * Sets *end to the leaf index of the max_events-th event after last, or of
 * the last stored event if fewer follow; *end stays last if none follows.
 */
static zg_err
batch_end(zg_sqlite_conn *conn, int64_t last, size_t max_events,
    int64_t *end)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	*end = last;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_INDEX_END,
	    "SELECT max(leaf_index) FROM (SELECT leaf_index FROM audit_events "
	    "WHERE leaf_index>?1 ORDER BY leaf_index LIMIT ?2)", &stmt,
	    "audit_index_catch_up")) != ZG_OK)
		return err;
	zg_sqlite_bind_int64(stmt, 1, last, &rc);
	zg_sqlite_bind_int64(stmt, 2, zg_sqlite_limit_value(max_events), &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		err = zg_sqlite_error(conn->db, rc, "audit_index_catch_up");
		goto out;
	}
	if (sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		*end = sqlite3_column_int64(stmt, 0);
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	return err;
}

/*
 * Inserts the rows of the events in (last, end] and moves the cursor to
 * end. Sorting by key first makes the inserts walk the b-tree in order,
 * so each of its pages is changed once per batch rather than per row.
 */
static zg_err
index_range(zg_sqlite_conn *conn, int64_t last, int64_t end)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_INDEX_INSERT,
	    "INSERT OR IGNORE INTO audit_search (kind, hmac, leaf_index) "
	    "SELECT 0, user_hmac, leaf_index FROM audit_events "
	    "WHERE leaf_index>?1 AND leaf_index<=?2 "
	    "UNION ALL SELECT 1, resource_hmac, leaf_index FROM audit_events "
	    "WHERE leaf_index>?1 AND leaf_index<=?2 "
	    "ORDER BY 1, 2, 3", &stmt, "audit_index_catch_up")) != ZG_OK)
		return err;
	zg_sqlite_bind_int64(stmt, 1, last, &rc);
	zg_sqlite_bind_int64(stmt, 2, end, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	zg_sqlite_stmt_done(stmt);
	stmt = NULL;
	if (rc != SQLITE_DONE)
		return zg_sqlite_error(conn->db, rc, "audit_index_catch_up");

	rc = SQLITE_OK;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_CURSOR_SET,
	    "INSERT OR REPLACE INTO audit_search_cursor (id, last_indexed) "
	    "VALUES (0, ?1)", &stmt, "audit_index_catch_up")) != ZG_OK)
		return err;
	zg_sqlite_bind_int64(stmt, 1, end, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	zg_sqlite_stmt_done(stmt);
	if (rc != SQLITE_DONE)
		return zg_sqlite_error(conn->db, rc, "audit_index_catch_up");
	return ZG_OK;
}

/*
 * Sets synchronous back to FULL after a catch-up. The PRAGMA runs through
 * sqlite3_exec, never from the statement cache, because SQLite may apply a
 * PRAGMA when it prepares it rather than each time it runs. SQLite rejects
 * the change inside a transaction, so a failure is retried after a
 * rollback. If that fails too, the process stops, because every later
 * write on the connection would return before it is durable.
 */
static void
sync_restore(sqlite3 *db)
{
	if (zg_sqlite_exec(db, "PRAGMA synchronous=FULL",
	    "audit_index_catch_up") == ZG_OK)
		return;
	zg_sqlite_rollback(db);
	if (zg_sqlite_exec(db, "PRAGMA synchronous=FULL",
	    "audit_index_catch_up") == ZG_OK)
		return;
	zg_log_error("restoring synchronous=FULL on the writer connection "
	    "failed, so zguard stops rather than write without fsync");
	abort();
}

/*
 * The index is derived data: a crash that loses a catch-up loses its rows
 * and its cursor move together, and the next call redoes them from
 * audit_events. So the transaction commits with synchronous=NORMAL, which
 * in WAL mode skips the fsync at commit. The next durable commit on the
 * connection fsyncs the WAL and so makes these frames durable as well.
 * SQLite rejects a change of synchronous inside a transaction, so it is
 * lowered before BEGIN and restored after COMMIT or ROLLBACK, on every
 * path, before the writer lock is released.
 */
zg_err
zg_sqlite_audit_index_catch_up(zg_store *st, size_t max_events,
    uint64_t *indexed_upto)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	int64_t last = -1, end = -1;
	bool lowered = false;
	zg_err err;

	*indexed_upto = 0;
	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	if ((err = zg_sqlite_exec(conn->db, "PRAGMA synchronous=NORMAL",
	    "audit_index_catch_up")) != ZG_OK)
		goto out;
	lowered = true;
	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_BEGIN,
	    "BEGIN IMMEDIATE", "audit_index_catch_up")) != ZG_OK)
		goto out;
	if ((err = cursor_get(conn, &last, "audit_index_catch_up")) != ZG_OK)
		goto out;
	if ((err = batch_end(conn, last, max_events, &end)) != ZG_OK)
		goto out;
	if (end > last && (err = index_range(conn, last, end)) != ZG_OK)
		goto out;
	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_COMMIT, "COMMIT",
	    "audit_index_catch_up")) != ZG_OK)
		goto out;
	/* success; end >= last >= -1, so end + 1 fits in a uint64_t */
	*indexed_upto = (uint64_t)end + 1;
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_sqlite_rollback(conn->db);
	if (lowered)
		sync_restore(conn->db);
	zg_sqlite_writer_release(s);
	return err;
}

zg_err
zg_sqlite_audit_search(zg_store *st, const uint8_t *user_hmac,
    const uint8_t *resource_hmac, uint64_t from, size_t limit,
    zg_audit_row **rows, size_t *n)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_sqlite_conn *conn = NULL;
	zg_audit_row *out = NULL;
	size_t cap = 0, used = 0;
	zg_err err;
	int rc = SQLITE_OK;

	*rows = NULL;
	*n = 0;
	if (from > (uint64_t)INT64_MAX)
		return ZG_ERR_INVALID;
	if (limit == 0)
		return ZG_OK;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	int query = (user_hmac != NULL ? 1 : 0) |
	    (resource_hmac != NULL ? 2 : 0);
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_SEARCH + query,
	    search_queries[query], &stmt, "audit_search")) != ZG_OK)
		goto out;
	zg_sqlite_bind_int64(stmt, 1, (int64_t)from, &rc);
	zg_sqlite_bind_int64(stmt, 2, zg_sqlite_limit_value(limit), &rc);
	if (user_hmac != NULL)
		zg_sqlite_bind_blob(stmt, 3, user_hmac, 32, &rc);
	if (resource_hmac != NULL)
		zg_sqlite_bind_blob(stmt, 4, resource_hmac, 32, &rc);
	while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((err = zg_sqlite_rows_reserve((void **)&out, &cap, used,
		    limit, sizeof(*out))) != ZG_OK)
			goto out;
		if ((err = zg_sqlite_audit_event_from_stmt(stmt,
		    &out[used])) != ZG_OK)
			goto out;
		used++;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "audit_search");
		goto out;
	}
	/* success */
	*rows = out;
	*n = used;
	out = NULL;
	err = ZG_OK;
out:
	zg_audit_rows_free(out, used);
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}
