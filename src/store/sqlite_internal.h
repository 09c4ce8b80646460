/*
 * Private to the SQLite backend: the handle, connection handling, the
 * helpers of sqlite_util.c and the operations that sqlite_store.c puts in
 * its ops table.
 *
 * Connections: one writer connection, used under writer_lock, and up to
 * ZG_SQLITE_READERS reader connections, opened on first use and handed out
 * under reader_lock. The database runs in WAL mode, so readers see the last
 * committed state while the writer works. Each connection is used by one
 * thread at a time, so all are opened with SQLITE_OPEN_NOMUTEX.
 *
 * Statements: each connection caches its prepared statements, one slot per
 * zg_sqlite_stmt_id, prepared on first use by zg_sqlite_stmt. A caller
 * passes every statement it got to zg_sqlite_stmt_done on every path before
 * it releases the connection, so no statement keeps a read transaction open
 * or points to the caller's bound buffers. zg_sqlite_close finalizes them.
 *
 * Times are stored as INTEGER microseconds since the epoch. An unset
 * optional time (0 in the row structs) is stored as NULL.
 *
 * A handle from zg_store_sqlite_open_readonly has no writer connection
 * (writer is NULL), opens its readers with SQLITE_OPEN_READONLY and uses an
 * ops table whose write operations fail without touching SQLite.
 */
#ifndef ZG_STORE_SQLITE_INTERNAL_H
#define ZG_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "base/err.h"
#include "store/store.h"

#define ZG_SQLITE_READERS 8
#define ZG_SQLITE_BUSY_TIMEOUT_MS 5000

/* Slots of the per-connection statement cache. */
typedef enum zg_sqlite_stmt_id {
	ZG_STMT_BEGIN,
	ZG_STMT_COMMIT,
	ZG_STMT_META_GET,
	ZG_STMT_META_UPSERT,
	ZG_STMT_WKEY_INSERT,
	ZG_STMT_WKEY_LIST,
	ZG_STMT_WKEY_DELETE,
	ZG_STMT_WKEY_IDS,
	ZG_STMT_WKEY_REWRAP,
	ZG_STMT_CRED_INSERT,
	ZG_STMT_CRED_GET,
	ZG_STMT_CRED_LIST,
	ZG_STMT_CRED_LIST_OWNER,
	ZG_STMT_CRED_STATE,
	ZG_STMT_CRED_SET_VERSION,
	ZG_STMT_CRED_SET_REVOKED,
	ZG_STMT_VERSION_INSERT,
	ZG_STMT_VERSION_GET,
	ZG_STMT_VERSION_ERASE,
	ZG_STMT_LEASE_INSERT,
	ZG_STMT_LEASE_EXISTS,
	ZG_STMT_LEASE_REDEEM,
	ZG_STMT_TOKEN_INSERT,
	ZG_STMT_TOKEN_BY_HASH,
	ZG_STMT_TOKEN_BY_ID,
	ZG_STMT_TOKEN_REVOKE,
	ZG_STMT_AUDIT_EVENT_INSERT,
	ZG_STMT_AUDIT_CURSOR_GET,
	ZG_STMT_AUDIT_CURSOR_SET,
	ZG_STMT_AUDIT_INDEX_END,
	ZG_STMT_AUDIT_INDEX_INSERT,
	ZG_STMT_AUDIT_INDEX_EVENT,
	ZG_STMT_AUDIT_NODE_INSERT,
	ZG_STMT_AUDIT_SIZE,
	ZG_STMT_AUDIT_NODE_GET,
	ZG_STMT_AUDIT_NODES_RANGE,
	/* The events query, which audit_search runs without a filter. */
	ZG_STMT_AUDIT_SEARCH,
	/*
	 * The index and tail queries of audit_search, one per filter, in the
	 * order of their tables in sqlite_audit_index.c.
	 */
	ZG_STMT_AUDIT_SEARCH_INDEX,
	ZG_STMT_AUDIT_SEARCH_INDEX_LAST = ZG_STMT_AUDIT_SEARCH_INDEX + 2,
	ZG_STMT_AUDIT_SEARCH_TAIL,
	ZG_STMT_AUDIT_SEARCH_TAIL_LAST = ZG_STMT_AUDIT_SEARCH_TAIL + 2,
	ZG_STMT_AUDIT_SEARCH_BUCKET,
	ZG_STMT_READ_BEGIN,
	ZG_STMT_AUDIT_HEAD_INSERT,
	ZG_STMT_AUDIT_HEAD_ROOT,
	ZG_STMT_AUDIT_HEAD_LATEST,
	ZG_STMT_AUDIT_HEADS,
	ZG_STMT_OBJ_GET,
	ZG_STMT_OBJ_LIST,
	ZG_STMT_OBJ_REV,
	ZG_STMT_OBJ_INSERT,
	ZG_STMT_OBJ_UPDATE,
	ZG_STMT_OBJ_DELETE,
	ZG_STMT_COUNTER_ADD,
	ZG_STMT_COUNTER_GET,
	ZG_STMT_COUNT
} zg_sqlite_stmt_id;

/* A connection with its statement cache. db is NULL until it is opened. */
typedef struct zg_sqlite_conn {
	sqlite3 *db;
	sqlite3_stmt *stmts[ZG_STMT_COUNT];
} zg_sqlite_conn;

typedef struct zg_sqlite_store {
	zg_store base;                /* first, so a zg_store * casts back */
	char *path;                   /* DIR/zguard.db */
	bool readonly;                /* from zg_store_sqlite_open_readonly */

	pthread_mutex_t writer_lock;
	zg_sqlite_conn writer;        /* db is NULL in a read-only handle */

	pthread_mutex_t reader_lock;
	pthread_cond_t reader_free;   /* signalled when a reader is returned */
	zg_sqlite_conn readers[ZG_SQLITE_READERS];
	bool reader_busy[ZG_SQLITE_READERS];
} zg_sqlite_store;

static inline zg_sqlite_store *
zg_sqlite_from(zg_store *st)
{
	return (zg_sqlite_store *)st;
}

/* Closes every connection of the handle and frees it. */
void zg_sqlite_close(zg_store *st);

/* The ops of a read-only handle, in sqlite_readonly.c. */
extern const zg_store_ops zg_sqlite_readonly_ops;

/* Locks the writer connection and returns it with its statement cache. */
zg_sqlite_conn *zg_sqlite_writer_acquire_conn(zg_sqlite_store *s);
/* Locks the writer connection and returns its SQLite handle. */
sqlite3 *zg_sqlite_writer_acquire(zg_sqlite_store *s);
/* Unlocks the writer connection after either acquire function. */
void zg_sqlite_writer_release(zg_sqlite_store *s);

/*
 * Takes an idle reader connection, opening one if fewer than
 * ZG_SQLITE_READERS are open, or waits for one to be returned. On failure
 * *conn is NULL. Releasing NULL does nothing.
 */
zg_err zg_sqlite_reader_acquire(zg_sqlite_store *s, zg_sqlite_conn **conn);
void zg_sqlite_reader_release(zg_sqlite_store *s, zg_sqlite_conn *conn);

/*
 * Returns in *stmt the cached statement id of conn, preparing sql on first
 * use. Every use of id must pass the same sql. The statement stays owned by
 * conn: the caller passes it to zg_sqlite_stmt_done, never to
 * sqlite3_finalize. On failure it logs and returns ZG_ERR_STORE, with
 * *stmt NULL.
 */
zg_err zg_sqlite_stmt(zg_sqlite_conn *conn, zg_sqlite_stmt_id id,
    const char *sql, sqlite3_stmt **stmt, const char *op);

/*
 * Resets a statement from zg_sqlite_stmt and clears its bindings, so it
 * holds no transaction and no pointer to the caller's buffers. NULL does
 * nothing.
 */
void zg_sqlite_stmt_done(sqlite3_stmt *stmt);

/*
 * Runs a cached statement that returns no rows, such as "BEGIN IMMEDIATE"
 * or "COMMIT", and resets it.
 */
zg_err zg_sqlite_stmt_exec(zg_sqlite_conn *conn, zg_sqlite_stmt_id id,
    const char *sql, const char *op);

/* Finalizes every cached statement of conn. */
void zg_sqlite_conn_clear(zg_sqlite_conn *conn);

/*
 * Maps a failed SQLite result code. A UNIQUE or PRIMARY KEY violation is
 * ZG_ERR_CONFLICT. Anything else is logged with op and SQLite's message and
 * becomes ZG_ERR_STORE.
 */
zg_err zg_sqlite_error(sqlite3 *db, int rc, const char *op);

/* Prepares sql on db. On failure it logs and returns ZG_ERR_STORE. */
zg_err zg_sqlite_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt,
    const char *op);

/* Runs a statement that returns no rows, such as "BEGIN IMMEDIATE". */
zg_err zg_sqlite_exec(sqlite3 *db, const char *sql, const char *op);

/* Rolls back the open transaction of db, if there is one. */
void zg_sqlite_rollback(sqlite3 *db);

/*
 * Bind helpers with a sticky result code: each does nothing once *rc is
 * not SQLITE_OK, so a run of binds is checked once at the end.
 */
void zg_sqlite_bind_text(sqlite3_stmt *stmt, int i, const char *s, int *rc);
void zg_sqlite_bind_blob(sqlite3_stmt *stmt, int i, const uint8_t *p,
    size_t len, int *rc);
void zg_sqlite_bind_int64(sqlite3_stmt *stmt, int i, int64_t v, int *rc);
/* Binds t, or NULL when t is 0 (an unset time). */
void zg_sqlite_bind_time(sqlite3_stmt *stmt, int i, int64_t t, int *rc);

/*
 * Copies text column col into dst. A NULL column gives "". Returns
 * ZG_ERR_STORE, logged with op, if the value does not fit in dstsz.
 */
zg_err zg_sqlite_column_text(sqlite3_stmt *stmt, int col, char *dst,
    size_t dstsz, const char *op);

/* Copies text column col into a new string. A NULL column gives NULL. */
zg_err zg_sqlite_column_strdup(sqlite3_stmt *stmt, int col, char **out);

/*
 * Copies blob column col into a new buffer of at least one byte. A NULL
 * column gives *out = NULL and *len = 0.
 */
zg_err zg_sqlite_column_blob(sqlite3_stmt *stmt, int col, uint8_t **out,
    size_t *len);

/* Operations implemented in sqlite_keys.c. */
zg_err zg_sqlite_meta_get(zg_store *st, const char *key, uint8_t **blob,
    size_t *len);
zg_err zg_sqlite_meta_put(zg_store *st, const char *key, const uint8_t *blob,
    size_t len);
zg_err zg_sqlite_wkey_insert(zg_store *st, const zg_wrapped_key *k);
zg_err zg_sqlite_wkey_list(zg_store *st, zg_wrapped_key **keys, size_t *n);
zg_err zg_sqlite_wkey_delete(zg_store *st, const char *id);
zg_err zg_sqlite_root_rotate(zg_store *st, const char *root_key,
    const uint8_t *root_blob, size_t root_len, const zg_wrapped_key *keys,
    size_t n);

/* Operations implemented in sqlite_obj.c. */
zg_err zg_sqlite_obj_put(zg_store *st, const zg_obj_row *row,
    int64_t expect_rev, int64_t *new_rev);
zg_err zg_sqlite_obj_get(zg_store *st, const char *kind, const char *id,
    zg_obj_row *out);
zg_err zg_sqlite_obj_list(zg_store *st, const char *kind, const char *owner,
    const char *prefix, const char *after, size_t limit, zg_obj_row **rows,
    size_t *n);
zg_err zg_sqlite_obj_delete(zg_store *st, const char *kind, const char *id,
    int64_t expect_rev);
zg_err zg_sqlite_obj_apply(zg_store *st, const zg_obj_op *ops, size_t n,
    size_t *failed);
zg_err zg_sqlite_counter_add(zg_store *st, const char *name, int64_t delta,
    int64_t *value);

/* Operations implemented in sqlite_cred.c and sqlite_token.c. */
zg_err zg_sqlite_cred_insert(zg_store *st, const zg_cred_row *c,
    const zg_cred_version_row *v);
zg_err zg_sqlite_cred_get(zg_store *st, const char *id, zg_cred_row *out);
zg_err zg_sqlite_cred_list(zg_store *st, const char *owner, const char *after,
    size_t limit, zg_cred_row **rows, size_t *n);
zg_err zg_sqlite_cred_add_version(zg_store *st, const zg_cred_version_row *v,
    int64_t now);
zg_err zg_sqlite_cred_get_version(zg_store *st, const char *id,
    uint32_t version, zg_cred_version_row *out);
zg_err zg_sqlite_cred_revoke(zg_store *st, const char *id, int64_t now);
zg_err zg_sqlite_lease_insert(zg_store *st, const uint8_t hash[32],
    const char *cred_id, uint32_t version, int64_t created_at,
    int64_t expires_at);
zg_err zg_sqlite_lease_redeem(zg_store *st, const uint8_t hash[32],
    int64_t now, char cred_id[ZG_ID_MAX], uint32_t *version);
zg_err zg_sqlite_token_insert(zg_store *st, const zg_token_row *t);
zg_err zg_sqlite_token_get_by_hash(zg_store *st, const uint8_t hash[32],
    zg_token_row *out);
zg_err zg_sqlite_token_get(zg_store *st, const char *id, zg_token_row *out);
zg_err zg_sqlite_token_revoke(zg_store *st, const char *id, int64_t now);

/*
 * The query of audit_events and of audit_search without a filter, shared
 * by audit_events_visit. Parameters: ?1 from, ?2 limit.
 */
#define ZG_SQLITE_EVENTS_QUERY                                               \
	"SELECT leaf_index, canonical, timestamp FROM audit_events "         \
	"WHERE leaf_index>=?1 ORDER BY leaf_index LIMIT ?2"

/* Converts a row limit to SQLite's signed 64-bit LIMIT, capped there. */
int64_t zg_sqlite_limit_value(size_t limit);

/*
 * Grows *rows, an array of *cap elements of size elsize, if used has
 * reached *cap, to at most limit elements. ZG_ERR_NOMEM on failure.
 */
zg_err zg_sqlite_rows_reserve(void **rows, size_t *cap, size_t used,
    size_t limit, size_t elsize);

/*
 * Copies the current row of a query that selects leaf_index, canonical,
 * timestamp, in that order, into *row.
 */
zg_err zg_sqlite_audit_event_from_stmt(sqlite3_stmt *stmt, zg_audit_row *row);

/*
 * Adds the search-index entries of the events in a batch of audit_append
 * whose leaf index the index already covers (sqlite_audit_index.c), in the
 * writer's open transaction.
 */
zg_err zg_sqlite_audit_index_below(zg_sqlite_conn *conn,
    const zg_audit_append_row *events, size_t n);

/* Operations implemented in sqlite_audit.c and sqlite_audit_index.c. */
zg_err zg_sqlite_audit_append(zg_store *st, const zg_audit_append_row *events,
    size_t n, const zg_merkle_node_row *nodes, size_t m);
zg_err zg_sqlite_audit_size(zg_store *st, uint64_t *size);
zg_err zg_sqlite_audit_node_get(zg_store *st, unsigned level, uint64_t index,
    uint8_t out[32]);
zg_err zg_sqlite_audit_nodes_range(zg_store *st, unsigned level,
    uint64_t from, size_t limit, zg_merkle_node_row *out, size_t *n);
zg_err zg_sqlite_audit_events(zg_store *st, uint64_t from, size_t limit,
    zg_audit_row **rows, size_t *n);
zg_err zg_sqlite_audit_events_visit(zg_store *st, uint64_t from,
    size_t limit, zg_audit_visit_fn fn, void *ctx);
zg_err zg_sqlite_audit_search(zg_store *st, const uint8_t *user_hmac,
    const uint8_t *resource_hmac, uint64_t from, size_t limit,
    zg_audit_row **rows, size_t *n);
zg_err zg_sqlite_audit_index_catch_up(zg_store *st, size_t max_events,
    uint64_t *indexed_upto);
zg_err zg_sqlite_audit_head_put(zg_store *st, const zg_tree_head_row *h);
zg_err zg_sqlite_audit_head_latest(zg_store *st, zg_tree_head_row *out);
zg_err zg_sqlite_audit_heads(zg_store *st, uint64_t after, size_t limit,
    zg_tree_head_row **rows, size_t *n);

#endif
