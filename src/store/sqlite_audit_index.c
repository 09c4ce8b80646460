/*
 * The search index of the audit log in SQLite, and the search itself.
 *
 * audit_search contains one row (kind, bucket, hmac, leaf_index) per event
 * and kind: kind 0 is the keyed hash of the user, kind 1 that of the
 * resource, and bucket is leaf_index >> BUCKET_BITS. The hashes are random
 * 32-byte values, so a key that began with the hash would put every insert
 * on a random page of the whole b-tree, and the pages that one batch
 * changes would grow with the log. The bucket comes before the hash, so
 * the rows of new events go to the pages of the newest bucket only, and a
 * batch changes at most the pages of one or two buckets, however long the
 * log is. Doing the inserts inside each durable append cost more than the
 * rest of the commit. So audit_append stores only the events, and
 * audit_index_catch_up adds their index rows later in large batches sorted
 * by key, without an fsync of its own.
 *
 * audit_search_cursor contains one row whose last_indexed is the highest
 * leaf index that the index covers, or -1 for none. Invariant: every stored
 * event with leaf_index <= last_indexed has both of its rows in
 * audit_search. Catch-up moves the cursor forward in the transaction that
 * inserts the rows. audit_append keeps the invariant for an event it
 * stores at or below the cursor by inserting that event's rows itself,
 * which the writer of the log never needs because it appends in order.
 *
 * A search with a filter reads the rows at or below the cursor from
 * audit_search, bucket by bucket in increasing order, and then scans the
 * events above the cursor, the tail, comparing their hash columns. Within
 * a bucket the rows of one hash are in leaf order, and every leaf of a
 * bucket is below every leaf of the next, so the parts come out in leaf
 * order and the search stops once it has limit rows. Buckets without index
 * rows are skipped with one lookup, so sparse leaf indexes cost nothing.
 * All statements of a search run in one read transaction, so the cursor
 * and the rows read belong to the same snapshot.
 */
#include "store/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/*
 * Leaf indexes per bucket, as a shift: 65,536 events. Migration 4 in
 * sqlite_store.c writes the same shift as a literal, so changing it needs
 * a new migration that rebuilds audit_search.
 */
#define BUCKET_BITS 16
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define BUCKET_OF(col) "(" col ">>" STRINGIFY(BUCKET_BITS) ")"

/*
 * The queries of one bucket of the index, indexed by filter - 1, where
 * filter is (user_hmac != NULL) | (resource_hmac != NULL) << 1.
 * Parameters: ?1 from, ?2 limit, ?3 user_hmac, ?4 resource_hmac,
 * ?5 bucket, ?6 cursor. A search for both walks the user's rows and checks
 * the resource in the event row.
 */
static const char *const index_queries[3] = {
	"SELECT s.leaf_index, e.canonical, e.timestamp FROM audit_search AS s "
	"JOIN audit_events AS e ON e.leaf_index=s.leaf_index "
	"WHERE s.kind=0 AND s.bucket=?5 AND s.hmac=?3 AND s.leaf_index>=?1 "
	"AND s.leaf_index<=?6 ORDER BY s.leaf_index LIMIT ?2",

	"SELECT s.leaf_index, e.canonical, e.timestamp FROM audit_search AS s "
	"JOIN audit_events AS e ON e.leaf_index=s.leaf_index "
	"WHERE s.kind=1 AND s.bucket=?5 AND s.hmac=?4 AND s.leaf_index>=?1 "
	"AND s.leaf_index<=?6 ORDER BY s.leaf_index LIMIT ?2",

	"SELECT s.leaf_index, e.canonical, e.timestamp FROM audit_search AS s "
	"JOIN audit_events AS e ON e.leaf_index=s.leaf_index "
	"WHERE s.kind=0 AND s.bucket=?5 AND s.hmac=?3 AND s.leaf_index>=?1 "
	"AND s.leaf_index<=?6 AND e.resource_hmac=?4 "
	"ORDER BY s.leaf_index LIMIT ?2",
};

/* The scans of the tail, with the parameters of index_queries. */
static const char *const tail_queries[3] = {
	"SELECT leaf_index, canonical, timestamp FROM audit_events "
	"WHERE leaf_index>?6 AND leaf_index>=?1 AND user_hmac=?3 "
	"ORDER BY leaf_index LIMIT ?2",

	"SELECT leaf_index, canonical, timestamp FROM audit_events "
	"WHERE leaf_index>?6 AND leaf_index>=?1 AND resource_hmac=?4 "
	"ORDER BY leaf_index LIMIT ?2",

	"SELECT leaf_index, canonical, timestamp FROM audit_events "
	"WHERE leaf_index>?6 AND leaf_index>=?1 AND user_hmac=?3 "
	"AND resource_hmac=?4 ORDER BY leaf_index LIMIT ?2",
};

/* Reads the cursor in conn's open transaction, or -1 without a row. */
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
		    "audit_search (kind, bucket, hmac, leaf_index) "
		    "VALUES (0, ?4, ?1, ?3), (1, ?4, ?2, ?3)", &stmt,
		    "audit_append")) != ZG_OK)
			goto out;
		zg_sqlite_bind_blob(stmt, 1, e->user_hmac, sizeof(e->user_hmac),
		    &rc);
		zg_sqlite_bind_blob(stmt, 2, e->resource_hmac,
		    sizeof(e->resource_hmac), &rc);
		zg_sqlite_bind_int64(stmt, 3, (int64_t)e->leaf_index, &rc);
		zg_sqlite_bind_int64(stmt, 4,
		    (int64_t)(e->leaf_index >> BUCKET_BITS), &rc);
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
 * so each of its pages is changed once per batch rather than per row, and
 * the bucket in the key keeps those pages within the newest buckets.
 */
static zg_err
index_range(zg_sqlite_conn *conn, int64_t last, int64_t end)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_INDEX_INSERT,
	    "INSERT OR IGNORE INTO audit_search "
	    "(kind, bucket, hmac, leaf_index) "
	    "SELECT 0, " BUCKET_OF("leaf_index") ", user_hmac, leaf_index "
	    "FROM audit_events WHERE leaf_index>?1 AND leaf_index<=?2 "
	    "UNION ALL "
	    "SELECT 1, " BUCKET_OF("leaf_index") ", resource_hmac, leaf_index "
	    "FROM audit_events WHERE leaf_index>?1 AND leaf_index<=?2 "
	    "ORDER BY 1, 2, 3, 4", &stmt, "audit_index_catch_up")) != ZG_OK)
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

/* The rows a search has found so far. */
struct search_result {
	zg_audit_row *rows;
	size_t cap;
	size_t used;
	size_t limit;
};

/* Binds the parameters of index_queries and tail_queries. */
static int
search_bind(sqlite3_stmt *stmt, const uint8_t *user_hmac,
    const uint8_t *resource_hmac, uint64_t from, size_t limit,
    int64_t bucket, int64_t cursor)
{
	int rc = SQLITE_OK;

	zg_sqlite_bind_int64(stmt, 1, (int64_t)from, &rc);
	zg_sqlite_bind_int64(stmt, 2, zg_sqlite_limit_value(limit), &rc);
	if (user_hmac != NULL)
		zg_sqlite_bind_blob(stmt, 3, user_hmac, 32, &rc);
	if (resource_hmac != NULL)
		zg_sqlite_bind_blob(stmt, 4, resource_hmac, 32, &rc);
	if (bucket >= 0)
		zg_sqlite_bind_int64(stmt, 5, bucket, &rc);
	zg_sqlite_bind_int64(stmt, 6, cursor, &rc);
	return rc;
}

/*
 * Steps a bound query that selects leaf_index, canonical, timestamp and
 * appends its rows to res. The caller passes stmt to zg_sqlite_stmt_done.
 */
static zg_err
search_collect(zg_sqlite_conn *conn, sqlite3_stmt *stmt, int rc,
    struct search_result *res)
{
	zg_err err;

	while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((err = zg_sqlite_rows_reserve((void **)&res->rows,
		    &res->cap, res->used, res->limit,
		    sizeof(*res->rows))) != ZG_OK)
			return err;
		if ((err = zg_sqlite_audit_event_from_stmt(stmt,
		    &res->rows[res->used])) != ZG_OK)
			return err;
		res->used++;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		return zg_sqlite_error(conn->db, rc, "audit_search");
	return ZG_OK;
}

/*
 * Sets *bucket to the lowest bucket in [first, last] that has index rows
 * of kind, or to -1 if none has.
 */
static zg_err
search_next_bucket(zg_sqlite_conn *conn, int kind, int64_t first,
    int64_t last, int64_t *bucket)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	*bucket = -1;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_SEARCH_BUCKET,
	    "SELECT bucket FROM audit_search WHERE kind=?1 AND bucket>=?2 "
	    "AND bucket<=?3 ORDER BY bucket LIMIT 1", &stmt,
	    "audit_search")) != ZG_OK)
		return err;
	zg_sqlite_bind_int64(stmt, 1, kind, &rc);
	zg_sqlite_bind_int64(stmt, 2, first, &rc);
	zg_sqlite_bind_int64(stmt, 3, last, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*bucket = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_DONE;
	}
	err = rc == SQLITE_DONE ? ZG_OK :
	    zg_sqlite_error(conn->db, rc, "audit_search");
	zg_sqlite_stmt_done(stmt);
	return err;
}

/*
 * Reads the matches at or below cursor from the index, bucket by bucket
 * from the bucket of from, until res is full.
 */
static zg_err
search_index(zg_sqlite_conn *conn, int filter, const uint8_t *user_hmac,
    const uint8_t *resource_hmac, uint64_t from, int64_t cursor,
    struct search_result *res)
{
	/* The user's rows drive a search for both. */
	int kind = (filter & 1) != 0 ? 0 : 1;
	int64_t bucket = (int64_t)(from >> BUCKET_BITS);
	int64_t last = cursor >> BUCKET_BITS;
	zg_err err;

	while (res->used < res->limit && bucket <= last) {
		sqlite3_stmt *stmt = NULL;

		if ((err = search_next_bucket(conn, kind, bucket, last,
		    &bucket)) != ZG_OK)
			return err;
		if (bucket < 0)
			break;
		if ((err = zg_sqlite_stmt(conn,
		    ZG_STMT_AUDIT_SEARCH_INDEX + filter - 1,
		    index_queries[filter - 1], &stmt, "audit_search")) != ZG_OK)
			return err;
		int rc = search_bind(stmt, user_hmac, resource_hmac, from,
		    res->limit - res->used, bucket, cursor);
		err = search_collect(conn, stmt, rc, res);
		zg_sqlite_stmt_done(stmt);
		if (err != ZG_OK)
			return err;
		/* bucket <= INT64_MAX >> BUCKET_BITS, so this cannot overflow. */
		bucket++;
	}
	return ZG_OK;
}

/* Appends the matches above cursor, found by a scan, until res is full. */
static zg_err
search_tail(zg_sqlite_conn *conn, int filter, const uint8_t *user_hmac,
    const uint8_t *resource_hmac, uint64_t from, int64_t cursor,
    struct search_result *res)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;

	if (res->used >= res->limit)
		return ZG_OK;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_SEARCH_TAIL + filter - 1,
	    tail_queries[filter - 1], &stmt, "audit_search")) != ZG_OK)
		return err;
	int rc = search_bind(stmt, user_hmac, resource_hmac, from,
	    res->limit - res->used, -1, cursor);
	err = search_collect(conn, stmt, rc, res);
	zg_sqlite_stmt_done(stmt);
	return err;
}

/*
 * Runs a search with a filter: the cursor, the index part and the tail,
 * in one read transaction.
 */
static zg_err
search_filtered(zg_sqlite_conn *conn, const uint8_t *user_hmac,
    const uint8_t *resource_hmac, uint64_t from, struct search_result *res)
{
	int filter = (user_hmac != NULL ? 1 : 0) |
	    (resource_hmac != NULL ? 2 : 0);
	int64_t cursor = -1;
	zg_err err;

	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_READ_BEGIN, "BEGIN",
	    "audit_search")) != ZG_OK)
		return err;
	if ((err = cursor_get(conn, &cursor, "audit_search")) != ZG_OK)
		goto out;
	if ((int64_t)from <= cursor && (err = search_index(conn, filter,
	    user_hmac, resource_hmac, from, cursor, res)) != ZG_OK)
		goto out;
	if ((err = search_tail(conn, filter, user_hmac, resource_hmac, from,
	    cursor, res)) != ZG_OK)
		goto out;
	err = zg_sqlite_stmt_exec(conn, ZG_STMT_COMMIT, "COMMIT",
	    "audit_search");
out:
	if (err != ZG_OK)
		zg_sqlite_rollback(conn->db);
	return err;
}

/* Runs the events query, the search without a filter. */
static zg_err
search_all(zg_sqlite_conn *conn, uint64_t from, struct search_result *res)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_SEARCH,
	    ZG_SQLITE_EVENTS_QUERY, &stmt, "audit_search")) != ZG_OK)
		return err;
	zg_sqlite_bind_int64(stmt, 1, (int64_t)from, &rc);
	zg_sqlite_bind_int64(stmt, 2, zg_sqlite_limit_value(res->limit), &rc);
	err = search_collect(conn, stmt, rc, res);
	zg_sqlite_stmt_done(stmt);
	return err;
}

zg_err
zg_sqlite_audit_search(zg_store *st, const uint8_t *user_hmac,
    const uint8_t *resource_hmac, uint64_t from, size_t limit,
    zg_audit_row **rows, size_t *n)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	struct search_result res = {.limit = limit};
	zg_sqlite_conn *conn = NULL;
	zg_err err;

	*rows = NULL;
	*n = 0;
	if (from > (uint64_t)INT64_MAX)
		return ZG_ERR_INVALID;
	if (limit == 0)
		return ZG_OK;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if (user_hmac == NULL && resource_hmac == NULL)
		err = search_all(conn, from, &res);
	else
		err = search_filtered(conn, user_hmac, resource_hmac, from,
		    &res);
	if (err != ZG_OK)
		goto out;
	/* success */
	*rows = res.rows;
	*n = res.used;
	res.rows = NULL;
	res.used = 0;
out:
	zg_audit_rows_free(res.rows, res.used);
	zg_sqlite_reader_release(s, conn);
	return err;
}
