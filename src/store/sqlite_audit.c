/*
 * The audit log in SQLite.
 *
 * Tables, created by migrations 2 to 4 in sqlite_store.c:
 * - audit_events: the canonical bytes of each event under its leaf index,
 *   with the keyed hashes of its user and resource. The search index over
 *   those hashes, audit_search, is filled behind the log and is described
 *   in sqlite_audit_index.c.
 * - audit_nodes: the hash of each stored perfect Merkle subtree, keyed by
 *   (level, idx). Level-0 nodes are the leaf hashes, so the tree size is one
 *   past the highest level-0 idx.
 * - audit_heads: signed tree heads, one per tree size.
 *
 * SQLite's INTEGER is a signed 64-bit value, so a leaf index, node index or
 * tree size above INT64_MAX is rejected with ZG_ERR_INVALID, and a negative
 * stored value is ZG_ERR_INTEGRITY.
 */
#include "store/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define HEAD_COLUMNS "tree_size, root, timestamp, signature, key_id"

/* Rows in the first allocation of a result array, which doubles when full. */
#define ROWS_INITIAL 64

int64_t
zg_sqlite_limit_value(size_t limit)
{
	return limit > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)limit;
}

zg_err
zg_sqlite_rows_reserve(void **rows, size_t *cap, size_t used, size_t limit,
    size_t elsize)
{
	if (used < *cap)
		return ZG_OK;
	size_t want = *cap == 0 ? ROWS_INITIAL : *cap * 2;
	if (want > limit)
		want = limit;
	if (want > SIZE_MAX / elsize)
		return ZG_ERR_NOMEM;
	void *p = realloc(*rows, want * elsize);
	if (p == NULL)
		return ZG_ERR_NOMEM;
	*rows = p;
	*cap = want;
	return ZG_OK;
}

/* Runs a prepared insert once, then resets it for the next row. */
static int
step_reset(sqlite3_stmt *stmt, int rc)
{
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc;
}

static zg_err
insert_events(zg_sqlite_conn *conn, const zg_audit_append_row *events,
    size_t n)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_EVENT_INSERT,
	    "INSERT INTO audit_events ("
	    "leaf_index, canonical, timestamp, user_hmac, resource_hmac) "
	    "VALUES (?, ?, ?, ?, ?)", &stmt, "audit_append")) != ZG_OK)
		return err;
	for (size_t i = 0; i < n; i++) {
		const zg_audit_append_row *e = &events[i];
		int rc = SQLITE_OK;

		zg_sqlite_bind_int64(stmt, 1, (int64_t)e->leaf_index, &rc);
		zg_sqlite_bind_blob(stmt, 2, e->canonical, e->canonical_len,
		    &rc);
		zg_sqlite_bind_int64(stmt, 3, e->timestamp, &rc);
		zg_sqlite_bind_blob(stmt, 4, e->user_hmac, sizeof(e->user_hmac),
		    &rc);
		zg_sqlite_bind_blob(stmt, 5, e->resource_hmac,
		    sizeof(e->resource_hmac), &rc);
		if ((rc = step_reset(stmt, rc)) == SQLITE_DONE)
			continue;
		if ((err = zg_sqlite_error(conn->db, rc, "audit_append")) ==
		    ZG_ERR_CONFLICT)
			zg_log_warn("audit event already stored",
			    ZGF_I("leaf_index", e->leaf_index));
		goto out;
	}
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	return err;
}

static zg_err
insert_nodes(zg_sqlite_conn *conn, const zg_merkle_node_row *nodes, size_t m)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_NODE_INSERT,
	    "INSERT INTO audit_nodes (level, idx, "
	    "hash) VALUES (?, ?, ?)", &stmt, "audit_append")) != ZG_OK)
		return err;
	for (size_t i = 0; i < m; i++) {
		const zg_merkle_node_row *nd = &nodes[i];
		int rc = SQLITE_OK;

		zg_sqlite_bind_int64(stmt, 1, nd->level, &rc);
		zg_sqlite_bind_int64(stmt, 2, (int64_t)nd->index, &rc);
		zg_sqlite_bind_blob(stmt, 3, nd->hash, sizeof(nd->hash), &rc);
		if ((rc = step_reset(stmt, rc)) == SQLITE_DONE)
			continue;
		if ((err = zg_sqlite_error(conn->db, rc, "audit_append")) ==
		    ZG_ERR_CONFLICT)
			zg_log_warn("Merkle node already stored",
			    ZGF_I("level", nd->level),
			    ZGF_I("index", nd->index));
		goto out;
	}
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	return err;
}

/*
 * Each insert statement is bound and stepped once per row, and reset in
 * between, because group commit passes hundreds of rows at a time.
 */
zg_err
zg_sqlite_audit_append(zg_store *st, const zg_audit_append_row *events,
    size_t n, const zg_merkle_node_row *nodes, size_t m)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	zg_err err;

	for (size_t i = 0; i < n; i++) {
		if (events[i].leaf_index > (uint64_t)INT64_MAX)
			return ZG_ERR_INVALID;
	}
	for (size_t i = 0; i < m; i++) {
		if (nodes[i].index > (uint64_t)INT64_MAX)
			return ZG_ERR_INVALID;
	}
	if (n == 0 && m == 0)
		return ZG_OK;

	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	if ((err = zg_sqlite_stmt_exec(conn, ZG_STMT_BEGIN,
	    "BEGIN IMMEDIATE", "audit_append")) != ZG_OK)
		goto out;
	if ((err = insert_events(conn, events, n)) != ZG_OK)
		goto out;
	if ((err = zg_sqlite_audit_index_below(conn, events, n)) != ZG_OK)
		goto out;
	if ((err = insert_nodes(conn, nodes, m)) != ZG_OK)
		goto out;
	err = zg_sqlite_stmt_exec(conn, ZG_STMT_COMMIT,
	    "COMMIT", "audit_append");
out:
	if (err != ZG_OK)
		zg_sqlite_rollback(conn->db);
	zg_sqlite_writer_release(s);
	return err;
}

zg_err
zg_sqlite_audit_size(zg_store *st, uint64_t *size)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_sqlite_conn *conn = NULL;
	zg_err err;
	int rc;

	*size = 0;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_SIZE,
	    "SELECT max(idx) FROM audit_nodes "
	    "WHERE level=0", &stmt, "audit_size")) != ZG_OK)
		goto out;
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		err = zg_sqlite_error(conn->db, rc, "audit_size");
		goto out;
	}
	if (sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
		int64_t max = sqlite3_column_int64(stmt, 0);
		if (max < 0) {
			zg_log_error("stored Merkle leaf has a negative index",
			    ZGF_I("index", max));
			err = ZG_ERR_INTEGRITY;
			goto out;
		}
		*size = (uint64_t)max + 1;
	}
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}

zg_err
zg_sqlite_audit_node_get(zg_store *st, unsigned level, uint64_t index,
    uint8_t out[32])
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_sqlite_conn *conn = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	memset(out, 0, 32);
	if (index > (uint64_t)INT64_MAX)
		return ZG_ERR_INVALID;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_NODE_GET,
	    "SELECT hash FROM audit_nodes "
	    "WHERE level=? AND idx=?", &stmt, "audit_node_get")) != ZG_OK)
		goto out;
	zg_sqlite_bind_int64(stmt, 1, level, &rc);
	zg_sqlite_bind_int64(stmt, 2, (int64_t)index, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		err = ZG_ERR_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = zg_sqlite_error(conn->db, rc, "audit_node_get");
		goto out;
	}
	const void *hash = sqlite3_column_blob(stmt, 0);
	int len = sqlite3_column_bytes(stmt, 0);
	if (hash == NULL || len != 32) {
		zg_log_error("stored Merkle node hash has the wrong length",
		    ZGF_I("level", level), ZGF_I("index", index),
		    ZGF_I("length", len), ZGF_I("expected", 32));
		err = ZG_ERR_INTEGRITY;
		goto out;
	}
	memcpy(out, hash, 32);
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}

/*
 * The primary key (level, idx) of the WITHOUT ROWID table orders the rows,
 * so this is one range scan of the key's b-tree.
 */
zg_err
zg_sqlite_audit_nodes_range(zg_store *st, unsigned level, uint64_t from,
    size_t limit, zg_merkle_node_row *out, size_t *n)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_sqlite_conn *conn = NULL;
	size_t used = 0;
	zg_err err;
	int rc = SQLITE_OK;

	*n = 0;
	if (from > (uint64_t)INT64_MAX)
		return ZG_ERR_INVALID;
	if (limit == 0)
		return ZG_OK;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_NODES_RANGE,
	    "SELECT idx, hash FROM audit_nodes WHERE level=?1 AND idx>=?2 "
	    "ORDER BY idx LIMIT ?3", &stmt, "audit_nodes_range")) != ZG_OK)
		goto out;
	zg_sqlite_bind_int64(stmt, 1, level, &rc);
	zg_sqlite_bind_int64(stmt, 2, (int64_t)from, &rc);
	zg_sqlite_bind_int64(stmt, 3, zg_sqlite_limit_value(limit), &rc);
	/* LIMIT caps the rows; used < limit keeps out in bounds regardless. */
	while (rc == SQLITE_OK && used < limit &&
	    (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t index = sqlite3_column_int64(stmt, 0);
		const void *hash = sqlite3_column_blob(stmt, 1);
		int len = sqlite3_column_bytes(stmt, 1);
		if (index < 0 || hash == NULL || len != 32) {
			zg_log_error("stored Merkle node is malformed",
			    ZGF_I("level", level), ZGF_I("index", index),
			    ZGF_I("length", len), ZGF_I("expected", 32));
			err = ZG_ERR_INTEGRITY;
			goto out;
		}
		out[used].level = level;
		out[used].index = (uint64_t)index;
		memcpy(out[used].hash, hash, 32);
		used++;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_OK) {
		err = zg_sqlite_error(conn->db, rc, "audit_nodes_range");
		goto out;
	}
	/* success */
	*n = used;
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}

zg_err
zg_sqlite_audit_event_from_stmt(sqlite3_stmt *stmt, zg_audit_row *row)
{
	zg_err err;

	memset(row, 0, sizeof(*row));
	int64_t leaf = sqlite3_column_int64(stmt, 0);
	if (leaf < 0) {
		zg_log_error("stored audit event has a negative leaf index",
		    ZGF_I("leaf_index", leaf));
		return ZG_ERR_INTEGRITY;
	}
	if ((err = zg_sqlite_column_blob(stmt, 1, &row->canonical,
	    &row->canonical_len)) != ZG_OK)
		return err;
	row->leaf_index = (uint64_t)leaf;
	row->timestamp = sqlite3_column_int64(stmt, 2);
	return ZG_OK;
}

zg_err
zg_sqlite_audit_events(zg_store *st, uint64_t from, size_t limit,
    zg_audit_row **rows, size_t *n)
{
	return zg_sqlite_audit_search(st, NULL, NULL, from, limit, rows, n);
}

zg_err
zg_sqlite_audit_events_visit(zg_store *st, uint64_t from, size_t limit,
    zg_audit_visit_fn fn, void *ctx)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_sqlite_conn *conn = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if (from > (uint64_t)INT64_MAX)
		return ZG_ERR_INVALID;
	if (limit == 0)
		return ZG_OK;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	/* The query of audit_events, so the two share one cached statement. */
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_SEARCH,
	    ZG_SQLITE_EVENTS_QUERY, &stmt, "audit_events_visit")) != ZG_OK)
		goto out;
	zg_sqlite_bind_int64(stmt, 1, (int64_t)from, &rc);
	zg_sqlite_bind_int64(stmt, 2, zg_sqlite_limit_value(limit), &rc);
	while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t leaf = sqlite3_column_int64(stmt, 0);
		if (leaf < 0) {
			zg_log_error("stored audit event has a negative leaf "
			    "index", ZGF_I("leaf_index", leaf));
			err = ZG_ERR_INTEGRITY;
			goto out;
		}
		/* As in zg_sqlite_column_blob: a NULL column is empty. */
		const uint8_t *bytes = sqlite3_column_blob(stmt, 1);
		size_t len = (size_t)sqlite3_column_bytes(stmt, 1);
		if (bytes == NULL && len > 0) {
			err = ZG_ERR_NOMEM;
			goto out;
		}
		if ((err = fn(ctx, (uint64_t)leaf, bytes, len,
		    sqlite3_column_int64(stmt, 2))) != ZG_OK)
			goto out;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "audit_events_visit");
		goto out;
	}
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}

/*
 * Compares the root of the stored head of h->tree_size with h->root, after
 * INSERT OR IGNORE kept the stored head. A different root means two
 * different trees of one size were signed, so it is logged as an error.
 * The store.h contract makes a repeated put ZG_OK, so it returns ZG_OK
 * in that case too.
 */
static zg_err
head_check_root(zg_sqlite_conn *conn, const zg_tree_head_row *h)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_HEAD_ROOT,
	    "SELECT root FROM audit_heads "
	    "WHERE tree_size=?", &stmt, "audit_head_put")) != ZG_OK)
		return err;
	zg_sqlite_bind_int64(stmt, 1, (int64_t)h->tree_size, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		err = zg_sqlite_error(conn->db, rc, "audit_head_put");
		goto out;
	}
	const void *root = sqlite3_column_blob(stmt, 0);
	int len = sqlite3_column_bytes(stmt, 0);
	if (root == NULL || len != (int)sizeof(h->root) ||
	    memcmp(root, h->root, sizeof(h->root)) != 0)
		zg_log_error("a tree head of this size is already stored with "
		    "a different root, so the new head was not stored",
		    ZGF_I("tree_size", h->tree_size),
		    ZGF_S("key_id", h->key_id));
	err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	return err;
}

zg_err
zg_sqlite_audit_head_put(zg_store *st, const zg_tree_head_row *h)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc = SQLITE_OK;

	if (h->tree_size > (uint64_t)INT64_MAX ||
	    memchr(h->key_id, '\0', sizeof(h->key_id)) == NULL)
		return ZG_ERR_INVALID;

	zg_sqlite_conn *conn = zg_sqlite_writer_acquire_conn(s);
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_HEAD_INSERT,
	    "INSERT OR IGNORE INTO audit_heads ("
	    HEAD_COLUMNS ") VALUES (?, ?, ?, ?, ?)", &stmt,
	    "audit_head_put")) != ZG_OK)
		goto out;
	zg_sqlite_bind_int64(stmt, 1, (int64_t)h->tree_size, &rc);
	zg_sqlite_bind_blob(stmt, 2, h->root, sizeof(h->root), &rc);
	zg_sqlite_bind_int64(stmt, 3, h->timestamp, &rc);
	zg_sqlite_bind_blob(stmt, 4, h->signature, sizeof(h->signature), &rc);
	zg_sqlite_bind_text(stmt, 5, h->key_id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "audit_head_put");
		goto out;
	}
	if (sqlite3_changes(conn->db) == 0)
		err = head_check_root(conn, h);
	else
		err = ZG_OK;
out:
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_writer_release(s);
	return err;
}

/* Copies the current row of a HEAD_COLUMNS query into *h. */
static zg_err
head_from_stmt(sqlite3_stmt *stmt, zg_tree_head_row *h, const char *op)
{
	memset(h, 0, sizeof(*h));
	int64_t size = sqlite3_column_int64(stmt, 0);
	const void *root = sqlite3_column_blob(stmt, 1);
	int root_len = sqlite3_column_bytes(stmt, 1);
	const void *sig = sqlite3_column_blob(stmt, 3);
	int sig_len = sqlite3_column_bytes(stmt, 3);

	if (size < 0 || root == NULL || root_len != (int)sizeof(h->root) ||
	    sig == NULL || sig_len != (int)sizeof(h->signature)) {
		zg_log_error("stored tree head is malformed", ZGF_S("op", op),
		    ZGF_I("tree_size", size), ZGF_I("root_length", root_len),
		    ZGF_I("signature_length", sig_len));
		return ZG_ERR_INTEGRITY;
	}
	h->tree_size = (uint64_t)size;
	memcpy(h->root, root, sizeof(h->root));
	h->timestamp = sqlite3_column_int64(stmt, 2);
	memcpy(h->signature, sig, sizeof(h->signature));
	return zg_sqlite_column_text(stmt, 4, h->key_id, sizeof(h->key_id), op);
}

zg_err
zg_sqlite_audit_head_latest(zg_store *st, zg_tree_head_row *out)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_sqlite_conn *conn = NULL;
	zg_err err;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_HEAD_LATEST,
	    "SELECT " HEAD_COLUMNS " FROM "
	    "audit_heads ORDER BY tree_size DESC LIMIT 1", &stmt,
	    "audit_head_latest")) != ZG_OK)
		goto out;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		err = ZG_ERR_NOT_FOUND;
	else if (rc == SQLITE_ROW)
		err = head_from_stmt(stmt, out, "audit_head_latest");
	else
		err = zg_sqlite_error(conn->db, rc, "audit_head_latest");
out:
	if (err != ZG_OK)
		memset(out, 0, sizeof(*out));
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}

zg_err
zg_sqlite_audit_heads(zg_store *st, uint64_t after, size_t limit,
    zg_tree_head_row **rows, size_t *n)
{
	zg_sqlite_store *s = zg_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	zg_sqlite_conn *conn = NULL;
	zg_tree_head_row *out = NULL;
	size_t cap = 0, used = 0;
	zg_err err;
	int rc = SQLITE_OK;

	*rows = NULL;
	*n = 0;
	if (after > (uint64_t)INT64_MAX)
		return ZG_ERR_INVALID;
	if (limit == 0)
		return ZG_OK;
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		return err;
	if ((err = zg_sqlite_stmt(conn, ZG_STMT_AUDIT_HEADS,
	    "SELECT " HEAD_COLUMNS " FROM "
	    "audit_heads WHERE tree_size>? ORDER BY tree_size LIMIT ?", &stmt,
	    "audit_heads")) != ZG_OK)
		goto out;
	zg_sqlite_bind_int64(stmt, 1, (int64_t)after, &rc);
	zg_sqlite_bind_int64(stmt, 2, zg_sqlite_limit_value(limit), &rc);
	while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((err = zg_sqlite_rows_reserve((void **)&out, &cap, used, limit,
		    sizeof(*out))) != ZG_OK)
			goto out;
		if ((err = head_from_stmt(stmt, &out[used], "audit_heads")) !=
		    ZG_OK)
			goto out;
		used++;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE) {
		err = zg_sqlite_error(conn->db, rc, "audit_heads");
		goto out;
	}
	/* success */
	*rows = out;
	*n = used;
	out = NULL;
	err = ZG_OK;
out:
	free(out);
	zg_sqlite_stmt_done(stmt);
	zg_sqlite_reader_release(s, conn);
	return err;
}
