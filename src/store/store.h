/*
 * The storage interface. Every persistent read and write of zguard goes
 * through the function pointers of zg_store_ops, so a PostgreSQL backend
 * can replace the embedded SQLite one without touching its callers.
 *
 * Contract for every backend:
 * - Each operation is atomic: it happens whole or not at all.
 * - An operation that returns ZG_OK for a write has made it durable
 *   (fsync'ed) before returning. The one exception is
 *   audit_index_catch_up, which writes only data derived from the log.
 * - All functions are safe to call from many threads at once.
 * - Blobs are opaque here; the vault decides their format. The store never
 *   sees a plaintext secret, only ciphertexts and keyed hashes.
 * - Errors: ZG_ERR_NOT_FOUND for a missing row, ZG_ERR_CONFLICT for a
 *   unique-key clash or a failed compare-and-set, ZG_ERR_STORE for a
 *   backend failure (logged by the backend with its own message).
 * - Out-parameters that own memory are released with the matching *_free.
 */
#ifndef ZG_STORE_STORE_H
#define ZG_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define ZG_ID_MAX 64        /* ids such as "cred_3f2a..." with the NUL */
#define ZG_USER_MAX 129     /* user ids: 1 to 128 bytes, with the NUL */
#define ZG_NAME_MAX 257     /* credential names: 1 to 256 bytes */
#define ZG_TYPE_MAX 32

/* A key wrapped under the root key: a KEK version or a system key. */
typedef struct zg_wrapped_key {
	char id[ZG_ID_MAX];       /* "kek", "token_hmac", ... */
	uint32_t version;         /* 1, 2, ... per id */
	uint8_t *blob;            /* owned */
	size_t blob_len;
	int64_t created_at;       /* microseconds since the epoch */
} zg_wrapped_key;

typedef struct zg_cred_row {
	char id[ZG_ID_MAX];
	char owner[ZG_USER_MAX];
	char name[ZG_NAME_MAX];
	char type[ZG_TYPE_MAX];
	char *metadata_json;      /* owned, a JSON object as text */
	char *permissions_json;   /* owned, a JSON array as text */
	uint32_t current_version;
	int64_t created_at;
	int64_t updated_at;
	int64_t expires_at;       /* 0: never */
	int64_t revoked_at;       /* 0: not revoked */
} zg_cred_row;

typedef struct zg_cred_version_row {
	char cred_id[ZG_ID_MAX];
	uint32_t version;
	uint8_t *blob;            /* owned; NULL once revoked (keys destroyed) */
	size_t blob_len;
	int64_t created_at;
} zg_cred_version_row;

#define ZG_SCOPE_MAX 4096     /* a token's scope as JSON text, with the NUL */
#define ZG_SUBJECT_TYPE_MAX 24

typedef struct zg_token_row {
	char id[ZG_ID_MAX];
	uint8_t hash[32];         /* HMAC-SHA-256 of the token */
	char user_id[ZG_USER_MAX];
	char subject_type[ZG_SUBJECT_TYPE_MAX]; /* "user", "service_account" */
	char scope[ZG_SCOPE_MAX]; /* JSON array of permissions; "" unscoped */
	int64_t created_at;
	int64_t expires_at;       /* 0: never */
	int64_t revoked_at;       /* 0: not revoked */
} zg_token_row;

/*
 * A generic stored object: roles, grants, service accounts, signing keys,
 * policies and the like. Modules own their kinds and the JSON of their
 * bodies. The store only keys them by (kind, id) and keeps an owner for
 * listing, an optional binary blob (wrapped key material), and a revision
 * for optimistic concurrency: 1 on insert, one more per update.
 */
#define ZG_OBJ_KIND_MAX 32
#define ZG_OBJ_ID_MAX 257

typedef struct zg_obj_row {
	char kind[ZG_OBJ_KIND_MAX];
	char id[ZG_OBJ_ID_MAX];
	char owner[ZG_USER_MAX];  /* "" when the object has none */
	char *body_json;          /* owned; a JSON value as text */
	uint8_t *blob;            /* owned; may be NULL */
	size_t blob_len;
	int64_t rev;
	int64_t created_at;
	int64_t updated_at;
} zg_obj_row;

/* Expected revisions for zg_obj_op and obj_put. */
#define ZG_REV_NEW 0      /* the object must not exist yet */
#define ZG_REV_ANY (-1)   /* create or overwrite, whatever is stored */

enum zg_obj_op_type {
	ZG_OBJ_PUT,       /* insert or update row, checked against expect_rev */
	ZG_OBJ_DELETE,    /* delete (row->kind, row->id) */
	ZG_OBJ_COUNTER,   /* add delta to the counter named row->id */
};

/* One write of an atomic batch (obj_apply). */
typedef struct zg_obj_op {
	enum zg_obj_op_type type;
	const zg_obj_row *row;
	int64_t expect_rev;   /* ZG_REV_NEW, ZG_REV_ANY or a revision >= 1 */
	int64_t delta;        /* for ZG_OBJ_COUNTER */
} zg_obj_op;

/* One audit event as appended: its canonical bytes and index keys. */
typedef struct zg_audit_append_row {
	uint64_t leaf_index;
	const uint8_t *canonical;
	size_t canonical_len;
	int64_t timestamp;
	uint8_t user_hmac[32];     /* keyed hash of userId, for search */
	uint8_t resource_hmac[32]; /* keyed hash of resource, for search */
} zg_audit_append_row;

/* One audit event as read back. */
typedef struct zg_audit_row {
	uint64_t leaf_index;
	uint8_t *canonical;        /* owned */
	size_t canonical_len;
	int64_t timestamp;
} zg_audit_row;

/*
 * Receives one event from audit_events_visit. canonical points into the
 * store's memory and is valid only until the call returns.
 */
typedef zg_err (*zg_audit_visit_fn)(void *ctx, uint64_t leaf_index,
    const uint8_t *canonical, size_t canonical_len, int64_t timestamp);

/* The hash of the perfect Merkle subtree (level, index); see merkle.h. */
typedef struct zg_merkle_node_row {
	unsigned level;
	uint64_t index;
	uint8_t hash[32];
} zg_merkle_node_row;

/* A signed tree head of the audit log. */
typedef struct zg_tree_head_row {
	uint64_t tree_size;
	uint8_t root[32];
	int64_t timestamp;
	uint8_t signature[64];     /* Ed25519 */
	char key_id[ZG_ID_MAX];
} zg_tree_head_row;

typedef struct zg_store zg_store;

typedef struct zg_store_ops {
	void (*close)(zg_store *st);

	/* Small named values such as the sealed root key. */
	zg_err (*meta_get)(zg_store *st, const char *key, uint8_t **blob,
	    size_t *len);
	zg_err (*meta_put)(zg_store *st, const char *key, const uint8_t *blob,
	    size_t len);

	/* Wrapped keys. list returns every version of every id, ordered. */
	zg_err (*wkey_insert)(zg_store *st, const zg_wrapped_key *k);
	zg_err (*wkey_list)(zg_store *st, zg_wrapped_key **keys, size_t *n);
	/* Deletes every version of id; used to destroy per-user keys. */
	zg_err (*wkey_delete)(zg_store *st, const char *id);
	/*
	 * Replaces the meta value root_key with root_blob and the blob of
	 * each given key (matched by id and version) in one transaction.
	 * Fails with ZG_ERR_CONFLICT if the set of keys changed meanwhile.
	 */
	zg_err (*root_rotate)(zg_store *st, const char *root_key,
	    const uint8_t *root_blob, size_t root_len,
	    const zg_wrapped_key *keys, size_t n);

	/* Credentials. insert fails with ZG_ERR_CONFLICT on (owner, name). */
	zg_err (*cred_insert)(zg_store *st, const zg_cred_row *c,
	    const zg_cred_version_row *v);
	zg_err (*cred_get)(zg_store *st, const char *id, zg_cred_row *out);
	/*
	 * Lists credentials ordered by id, after the id `after` (NULL or ""
	 * for the start), of one owner (NULL for all), at most limit rows.
	 */
	zg_err (*cred_list)(zg_store *st, const char *owner, const char *after,
	    size_t limit, zg_cred_row **rows, size_t *n);
	/*
	 * Adds version v->version, which must be current_version + 1, and
	 * makes it current. ZG_ERR_CONFLICT if another writer got there
	 * first; ZG_ERR_REVOKED if the credential was revoked.
	 */
	zg_err (*cred_add_version)(zg_store *st, const zg_cred_version_row *v,
	    int64_t now);
	zg_err (*cred_get_version)(zg_store *st, const char *id,
	    uint32_t version, zg_cred_version_row *out);
	/*
	 * Sets revoked_at and erases every version blob of the credential,
	 * then tries to truncate the write-ahead log so no copy of the
	 * wrapped keys stays in it; the truncation is best effort and only
	 * logs a warning when readers block it. Revoking twice is ZG_OK.
	 */
	zg_err (*cred_revoke)(zg_store *st, const char *id, int64_t now);

	/* One-time leases, keyed by a hash of the lease token. */
	zg_err (*lease_insert)(zg_store *st, const uint8_t hash[32],
	    const char *cred_id, uint32_t version, int64_t created_at,
	    int64_t expires_at);
	/*
	 * Marks the lease used if it exists, is unused and expires after now,
	 * and returns its credential and version. ZG_ERR_NOT_FOUND if there is
	 * no such lease, ZG_ERR_GONE if it was used or has expired.
	 */
	zg_err (*lease_redeem)(zg_store *st, const uint8_t hash[32],
	    int64_t now, char cred_id[ZG_ID_MAX], uint32_t *version);

	/* API tokens. */
	zg_err (*token_insert)(zg_store *st, const zg_token_row *t);
	zg_err (*token_get_by_hash)(zg_store *st, const uint8_t hash[32],
	    zg_token_row *out);
	zg_err (*token_get)(zg_store *st, const char *id, zg_token_row *out);
	zg_err (*token_revoke)(zg_store *st, const char *id, int64_t now);

	/*
	 * Audit log. append stores n events and m Merkle node hashes in one
	 * durable transaction; an index that already exists is
	 * ZG_ERR_CONFLICT and nothing is stored.
	 */
	zg_err (*audit_append)(zg_store *st, const zg_audit_append_row *events,
	    size_t n, const zg_merkle_node_row *nodes, size_t m);
	/* Number of leaves: one past the highest stored level-0 node. */
	zg_err (*audit_size)(zg_store *st, uint64_t *size);
	/* ZG_ERR_NOT_FOUND if the node was never stored. */
	zg_err (*audit_node_get)(zg_store *st, unsigned level, uint64_t index,
	    uint8_t out[32]);
	/*
	 * Reads the stored nodes of `level` with index >= from, in index
	 * order, at most limit, into out (room for limit rows) and sets *n.
	 * An index that is not stored is skipped, so a caller finds a gap
	 * through out[i].index. ZG_ERR_INTEGRITY, with *n 0, if a row read
	 * has a hash that is not 32 bytes or a negative index; audit_node_get
	 * then tells which node it is.
	 */
	zg_err (*audit_nodes_range)(zg_store *st, unsigned level, uint64_t from,
	    size_t limit, zg_merkle_node_row *out, size_t *n);
	/* Events with leaf_index >= from, in index order, at most limit. */
	zg_err (*audit_events)(zg_store *st, uint64_t from, size_t limit,
	    zg_audit_row **rows, size_t *n);
	/*
	 * Calls fn for the events audit_events would return, in index order,
	 * without copying or allocating per event. The read transaction
	 * stays open until the last call returns, so fn must not use st and
	 * limit should stay small. A non-OK return from fn stops the scan and
	 * is returned. ZG_ERR_INTEGRITY for a row that cannot be read, after
	 * fn has seen the rows before it.
	 */
	zg_err (*audit_events_visit)(zg_store *st, uint64_t from, size_t limit,
	    zg_audit_visit_fn fn, void *ctx);
	/*
	 * Events matching the given keyed hashes (NULL matches anything),
	 * with leaf_index >= from, in index order, at most limit. The result
	 * is complete however far audit_index_catch_up has got: events the
	 * search index does not cover yet are matched by a scan.
	 */
	zg_err (*audit_search)(zg_store *st, const uint8_t *user_hmac,
	    const uint8_t *resource_hmac, uint64_t from, size_t limit,
	    zg_audit_row **rows, size_t *n);
	/*
	 * Adds the search-index entries of up to max_events events, the
	 * first ones in index order that the index does not cover yet, in
	 * one transaction, and sets *indexed_upto to one past the highest
	 * leaf index it covers (0 when none). The index is derived from the
	 * stored events, so this write is atomic but, unlike every other
	 * write, not durable on return: a crash may undo it, and a later
	 * call redoes the work. An event appended with a leaf index below
	 * the covered range is indexed by audit_append itself.
	 */
	zg_err (*audit_index_catch_up)(zg_store *st, size_t max_events,
	    uint64_t *indexed_upto);
	/* Stores a tree head; storing the same tree size again is ZG_OK. */
	zg_err (*audit_head_put)(zg_store *st, const zg_tree_head_row *h);
	/* The head with the largest tree size; ZG_ERR_NOT_FOUND if none. */
	zg_err (*audit_head_latest)(zg_store *st, zg_tree_head_row *out);
	/* Heads with tree_size > after, ascending, at most limit. */
	zg_err (*audit_heads)(zg_store *st, uint64_t after, size_t limit,
	    zg_tree_head_row **rows, size_t *n);

	/*
	 * Generic objects. obj_put stores row (created_at and updated_at as
	 * given, rev computed) if the stored revision matches expect_rev:
	 * ZG_REV_NEW fails with ZG_ERR_CONFLICT if (kind, id) exists; a
	 * revision >= 1 fails with ZG_ERR_NOT_FOUND if it does not exist and
	 * ZG_ERR_CONFLICT if another writer changed it. *new_rev (may be
	 * NULL) receives the stored revision.
	 */
	zg_err (*obj_put)(zg_store *st, const zg_obj_row *row, int64_t expect_rev,
	    int64_t *new_rev);
	/* ZG_ERR_NOT_FOUND if there is no such object. */
	zg_err (*obj_get)(zg_store *st, const char *kind, const char *id,
	    zg_obj_row *out);
	/*
	 * Objects of kind ordered by id, with ids starting with prefix (NULL
	 * or "" for all) and greater than after (NULL or "" for the start), of
	 * one owner (NULL for all), at most limit rows.
	 */
	zg_err (*obj_list)(zg_store *st, const char *kind, const char *owner,
	    const char *prefix, const char *after, size_t limit,
	    zg_obj_row **rows, size_t *n);
	/* ZG_ERR_NOT_FOUND if absent; ZG_ERR_CONFLICT if expect_rev (>= 1)
	 * differs from the stored revision. ZG_REV_ANY deletes whatever is
	 * stored. */
	zg_err (*obj_delete)(zg_store *st, const char *kind, const char *id,
	    int64_t expect_rev);
	/*
	 * Applies ops in one durable transaction: either all of them or, on
	 * the first failing check, none. *failed (may be NULL) receives the
	 * index of the op that failed.
	 */
	zg_err (*obj_apply)(zg_store *st, const zg_obj_op *ops, size_t n,
	    size_t *failed);
	/* Adds delta (0 only reads) to a named 64-bit counter that starts
	 * at 0 and returns the new value. Processes sharing the store compare
	 * such counters as version numbers to invalidate their caches. */
	zg_err (*counter_add)(zg_store *st, const char *name, int64_t delta,
	    int64_t *value);
} zg_store_ops;

/* Every backend's handle starts with its ops. */
struct zg_store {
	const zg_store_ops *ops;
};

/*
 * Opens (creating if needed) the SQLite database under dir, applies pending
 * migrations, and returns the handle in *out.
 */
zg_err zg_store_sqlite_open(const char *dir, zg_store **out);

/*
 * Opens an existing database under dir for reading only, without taking
 * the data directory lock or migrating, so that `zguard audit verify` can
 * run beside a live daemon. Write operations fail with ZG_ERR_STORE.
 */
zg_err zg_store_sqlite_open_readonly(const char *dir, zg_store **out);

void zg_audit_rows_free(zg_audit_row *rows, size_t n);
void zg_cred_row_free(zg_cred_row *c);
void zg_cred_rows_free(zg_cred_row *rows, size_t n);
void zg_cred_version_row_free(zg_cred_version_row *v);
void zg_wrapped_keys_free(zg_wrapped_key *keys, size_t n);
/* Frees what a row owns (body and blob, the blob wiped) and clears it. */
void zg_obj_row_free(zg_obj_row *r);
void zg_obj_rows_free(zg_obj_row *rows, size_t n);

#endif
