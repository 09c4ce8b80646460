/*
 * The ops table of a read-only handle, from zg_store_sqlite_open_readonly.
 * Reads are the ordinary SQLite operations. Each write fails with
 * ZG_ERR_STORE before it reaches SQLite, because the handle has no writer
 * connection.
 */
#include "store/sqlite_internal.h"

#include "base/log.h"

static zg_err
reject_write(const char *op)
{
	zg_log_error("store is open read-only, so the write was rejected",
	    ZGF_S("op", op));
	return ZG_ERR_STORE;
}

static zg_err
ro_meta_put(zg_store *st, const char *key, const uint8_t *blob, size_t len)
{
	return reject_write("meta_put");
}

static zg_err
ro_wkey_insert(zg_store *st, const zg_wrapped_key *k)
{
	return reject_write("wkey_insert");
}

static zg_err
ro_wkey_delete(zg_store *st, const char *id)
{
	return reject_write("wkey_delete");
}

static zg_err
ro_root_rotate(zg_store *st, const char *root_key, const uint8_t *root_blob,
    size_t root_len, const zg_wrapped_key *keys, size_t n)
{
	return reject_write("root_rotate");
}

static zg_err
ro_cred_insert(zg_store *st, const zg_cred_row *c,
    const zg_cred_version_row *v)
{
	return reject_write("cred_insert");
}

static zg_err
ro_cred_add_version(zg_store *st, const zg_cred_version_row *v, int64_t now)
{
	return reject_write("cred_add_version");
}

static zg_err
ro_cred_revoke(zg_store *st, const char *id, int64_t now)
{
	return reject_write("cred_revoke");
}

static zg_err
ro_lease_insert(zg_store *st, const uint8_t hash[32], const char *cred_id,
    uint32_t version, int64_t created_at, int64_t expires_at)
{
	return reject_write("lease_insert");
}

static zg_err
ro_lease_redeem(zg_store *st, const uint8_t hash[32], int64_t now,
    char cred_id[ZG_ID_MAX], uint32_t *version)
{
	cred_id[0] = '\0';
	*version = 0;
	return reject_write("lease_redeem");
}

static zg_err
ro_token_insert(zg_store *st, const zg_token_row *t)
{
	return reject_write("token_insert");
}

static zg_err
ro_token_revoke(zg_store *st, const char *id, int64_t now)
{
	return reject_write("token_revoke");
}

static zg_err
ro_audit_append(zg_store *st, const zg_audit_append_row *events, size_t n,
    const zg_merkle_node_row *nodes, size_t m)
{
	return reject_write("audit_append");
}

static zg_err
ro_audit_index_catch_up(zg_store *st, size_t max_events,
    uint64_t *indexed_upto)
{
	*indexed_upto = 0;
	return reject_write("audit_index_catch_up");
}

static zg_err
ro_audit_head_put(zg_store *st, const zg_tree_head_row *h)
{
	return reject_write("audit_head_put");
}

static zg_err
ro_obj_put(zg_store *st, const zg_obj_row *row, int64_t expect_rev,
    int64_t *new_rev)
{
	return reject_write("obj_put");
}

static zg_err
ro_obj_delete(zg_store *st, const char *kind, const char *id,
    int64_t expect_rev)
{
	return reject_write("obj_delete");
}

static zg_err
ro_obj_apply(zg_store *st, const zg_obj_op *ops, size_t n, size_t *failed)
{
	return reject_write("obj_apply");
}

/* Reading a counter (delta 0) needs no writer. */
static zg_err
ro_counter_add(zg_store *st, const char *name, int64_t delta, int64_t *value)
{
	if (delta == 0)
		return zg_sqlite_counter_add(st, name, 0, value);
	return reject_write("counter_add");
}

const zg_store_ops zg_sqlite_readonly_ops = {
	.close = zg_sqlite_close,
	.meta_get = zg_sqlite_meta_get,
	.meta_put = ro_meta_put,
	.wkey_insert = ro_wkey_insert,
	.wkey_list = zg_sqlite_wkey_list,
	.wkey_delete = ro_wkey_delete,
	.root_rotate = ro_root_rotate,
	.cred_insert = ro_cred_insert,
	.cred_get = zg_sqlite_cred_get,
	.cred_list = zg_sqlite_cred_list,
	.cred_add_version = ro_cred_add_version,
	.cred_get_version = zg_sqlite_cred_get_version,
	.cred_revoke = ro_cred_revoke,
	.lease_insert = ro_lease_insert,
	.lease_redeem = ro_lease_redeem,
	.token_insert = ro_token_insert,
	.token_get_by_hash = zg_sqlite_token_get_by_hash,
	.token_get = zg_sqlite_token_get,
	.token_revoke = ro_token_revoke,
	.audit_append = ro_audit_append,
	.audit_size = zg_sqlite_audit_size,
	.audit_node_get = zg_sqlite_audit_node_get,
	.audit_nodes_range = zg_sqlite_audit_nodes_range,
	.audit_events = zg_sqlite_audit_events,
	.audit_events_visit = zg_sqlite_audit_events_visit,
	.audit_search = zg_sqlite_audit_search,
	.audit_index_catch_up = ro_audit_index_catch_up,
	.audit_head_put = ro_audit_head_put,
	.audit_head_latest = zg_sqlite_audit_head_latest,
	.audit_heads = zg_sqlite_audit_heads,
	.obj_put = ro_obj_put,
	.obj_get = zg_sqlite_obj_get,
	.obj_list = zg_sqlite_obj_list,
	.obj_delete = ro_obj_delete,
	.obj_apply = ro_obj_apply,
	.counter_add = ro_counter_add,
};
