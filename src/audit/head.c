/* Signed tree heads, proofs, erasure, and opening and closing the log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit_internal.h"
#include "base/codec.h"
#include "base/log.h"
#include "base/timeutil.h"

static zg_err
store_get_node(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	zg_store *st = ctx;
	return st->ops->audit_node_get(st, level, index, out);
}

zg_err
zg_audit_public_key(zg_audit *a, uint8_t pub[ZG_ED25519_PUB_LEN],
    char key_id[ZG_AUDIT_KEY_ID_MAX])
{
	uint8_t *seed = zg_secure_alloc(ZG_KEY_LEN);
	if (seed == NULL)
		return ZG_ERR_NOMEM;
	zg_err err = zg_keyring_system_key(a->kr, ZG_AUDIT_SIGNING_KEY, true, seed);
	if (err == ZG_OK)
		err = zg_ed25519_public(seed, pub);
	zg_secure_free(seed, ZG_KEY_LEN);
	if (err == ZG_OK && key_id != NULL)
		zg_audit_key_id(pub, key_id);
	return err;
}

zg_err
zg_audit_sign_head(zg_audit *a)
{
	zg_err err = ZG_ERR_INTERNAL;
	struct zg_merkle_frontier *f = malloc(sizeof(*f));
	uint8_t *seed = zg_secure_alloc(ZG_KEY_LEN);
	uint8_t pub[ZG_ED25519_PUB_LEN];
	uint8_t msg[ZG_TREE_HEAD_MSG_LEN];
	zg_tree_head_row h;

	pthread_mutex_lock(&a->sign_mu);
	if (a->heads_frozen) {
		err = ZG_ERR_INTEGRITY;
		goto out;
	}
	if (f == NULL || seed == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	pthread_mutex_lock(&a->mu);
	*f = a->frontier;
	uint64_t last = a->have_latest ? a->latest.tree_size : 0;
	bool have = a->have_latest;
	pthread_mutex_unlock(&a->mu);
	if (f->tree_size == 0 || (have && f->tree_size == last)) {
		err = ZG_OK;
		goto out;
	}
	memset(&h, 0, sizeof(h));
	h.tree_size = f->tree_size;
	h.timestamp = zg_time_now_us();
	if ((err = zg_merkle_frontier_root(f, h.root)) != ZG_OK)
		goto out;
	if ((err = zg_keyring_system_key(a->kr, ZG_AUDIT_SIGNING_KEY, true,
	    seed)) != ZG_OK)
		goto out;
	zg_tree_head_message(h.tree_size, h.root, h.timestamp, msg);
	if ((err = zg_ed25519_sign(seed, msg, sizeof(msg), h.signature)) != ZG_OK ||
	    (err = zg_ed25519_public(seed, pub)) != ZG_OK)
		goto out;
	zg_audit_key_id(pub, h.key_id);
	if ((err = a->st->ops->audit_head_put(a->st, &h)) != ZG_OK)
		goto out;
	pthread_mutex_lock(&a->mu);
	a->latest = h;
	a->have_latest = true;
	pthread_mutex_unlock(&a->mu);
	zg_log_debug("signed audit tree head", ZGF_I("tree_size", h.tree_size));
	/* success */
	err = ZG_OK;
out:
	pthread_mutex_unlock(&a->sign_mu);
	zg_secure_free(seed, ZG_KEY_LEN);
	free(f);
	return err;
}

static void *
signer_main(void *arg)
{
	zg_audit *a = arg;
	pthread_mutex_lock(&a->mu);
	while (!a->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += a->cfg.audit_tree_head_interval_s;
		pthread_cond_timedwait(&a->head_cv, &a->mu, &ts);
		if (a->stopping)
			break;
		bool frozen = a->heads_frozen;
		pthread_mutex_unlock(&a->mu);
		if (!frozen && !zg_keyring_sealed(a->kr)) {
			zg_err err = zg_audit_sign_head(a);
			if (err != ZG_OK)
				zg_log_error("cannot sign the audit tree head",
				    ZGF_ERR(err));
		}
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

zg_err
zg_audit_tree_head(zg_audit *a, bool fresh, zg_tree_head_row *out)
{
	zg_err err;
	if (fresh) {
		if (zg_keyring_sealed(a->kr))
			return ZG_ERR_SEALED;
		if ((err = zg_audit_sign_head(a)) != ZG_OK)
			return err;
	}
	pthread_mutex_lock(&a->mu);
	bool have = a->have_latest;
	if (have)
		*out = a->latest;
	pthread_mutex_unlock(&a->mu);
	return have ? ZG_OK : ZG_ERR_NOT_FOUND;
}

zg_err
zg_audit_inclusion_proof(zg_audit *a, uint64_t index, uint64_t tree_size,
    uint8_t leaf_hash[32], uint8_t root[32], uint8_t (*proof)[32],
    size_t *proof_len, zg_errmsg *em)
{
	zg_err err;
	uint64_t size = zg_audit_size(a);
	if (tree_size == 0 || tree_size > size)
		return zg_fail(em, ZG_ERR_INVALID, "treeSize %llu is outside the "
		    "log, which has %llu events", (unsigned long long)tree_size,
		    (unsigned long long)size);
	if (index >= tree_size)
		return zg_fail(em, ZG_ERR_INVALID, "index %llu must be below "
		    "treeSize %llu", (unsigned long long)index,
		    (unsigned long long)tree_size);
	if ((err = a->st->ops->audit_node_get(a->st, 0, index, leaf_hash)) != ZG_OK ||
	    (err = zg_merkle_root(store_get_node, a->st, tree_size, root)) != ZG_OK)
		return err;
	return zg_merkle_inclusion_proof(store_get_node, a->st, index, tree_size,
	    proof, ZG_MERKLE_MAX_PROOF, proof_len);
}

zg_err
zg_audit_consistency_proof(zg_audit *a, uint64_t first, uint64_t second,
    uint8_t first_root[32], uint8_t second_root[32], uint8_t (*proof)[32],
    size_t *proof_len, zg_errmsg *em)
{
	zg_err err;
	uint64_t size = zg_audit_size(a);
	if (first == 0)
		return zg_fail(em, ZG_ERR_INVALID,
		    "first must be at least 1; got 0");
	if (first > second)
		return zg_fail(em, ZG_ERR_INVALID, "first (%llu) must not exceed "
		    "second (%llu)", (unsigned long long)first,
		    (unsigned long long)second);
	if (second > size)
		return zg_fail(em, ZG_ERR_INVALID, "second %llu is beyond the log, "
		    "which has %llu events", (unsigned long long)second,
		    (unsigned long long)size);
	if ((err = zg_merkle_root(store_get_node, a->st, first, first_root)) != ZG_OK ||
	    (err = zg_merkle_root(store_get_node, a->st, second, second_root)) != ZG_OK)
		return err;
	return zg_merkle_consistency_proof(store_get_node, a->st, first, second,
	    proof, ZG_MERKLE_MAX_PROOF, proof_len);
}

zg_err
zg_audit_erase_user(zg_audit *a, const char *user_id)
{
	char key_id[ZG_ID_MAX], meta_key[ZG_ID_MAX];
	uint32_t gen = 0;
	uint8_t next[4];
	zg_err err;

	/* One erasure at a time, so two cannot skip a generation's key. */
	pthread_mutex_lock(&a->sign_mu);
	err = zg_audit_user_key_id(a->kr, a->st, user_id, key_id, meta_key, &gen);
	if (err != ZG_OK)
		goto out;
	/* Destroy first: if the process stops before the generation moves
	 * on, the key is already gone and a repeated erase finishes. */
	err = zg_keyring_destroy_key(a->kr, key_id);
	if (err != ZG_OK && err != ZG_ERR_NOT_FOUND)
		goto out;
	gen++;
	next[0] = (uint8_t)(gen >> 24);
	next[1] = (uint8_t)(gen >> 16);
	next[2] = (uint8_t)(gen >> 8);
	next[3] = (uint8_t)gen;
	err = a->st->ops->meta_put(a->st, meta_key, next, sizeof(next));
	if (err == ZG_OK)
		zg_audit_note_generation(meta_key, gen);
out:
	pthread_mutex_unlock(&a->sign_mu);
	return err;
}

zg_err
zg_audit_open(zg_store *st, zg_keyring *kr, const zg_config *cfg,
    zg_audit **out, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	uint64_t size = 0;
	zg_audit *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (a == NULL)
		return ZG_ERR_NOMEM;
	a->st = st;
	a->kr = kr;
	a->cfg = *cfg;
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->sign_mu, NULL);
	pthread_cond_init(&a->work_cv, NULL);
	pthread_cond_init(&a->head_cv, NULL);
	pthread_cond_init(&a->index_cv, NULL);
	zg_merkle_frontier_init(&a->frontier);

	if ((err = st->ops->audit_size(st, &size)) != ZG_OK ||
	    (err = zg_merkle_frontier_load(&a->frontier, store_get_node, st,
	    size)) != ZG_OK) {
		zg_fail(em, err, "cannot load the audit log's Merkle tree");
		goto out;
	}
	err = st->ops->audit_head_latest(st, &a->latest);
	if (err == ZG_OK) {
		a->have_latest = true;
		uint8_t root[32];
		if (a->latest.tree_size > size ||
		    zg_merkle_root(store_get_node, st, a->latest.tree_size,
		    root) != ZG_OK || memcmp(root, a->latest.root, 32) != 0) {
			/* Signing a new head now would vouch for altered
			 * events, so keep the evidence as it is. */
			a->heads_frozen = true;
			zg_log_error("the audit log does not match its latest "
			    "signed tree head; no new tree head will be signed "
			    "until the log is repaired and the daemon restarts; "
			    "run 'zguard audit verify'",
			    ZGF_I("tree_size", size),
			    ZGF_I("head_tree_size", a->latest.tree_size));
		}
	} else if (err != ZG_ERR_NOT_FOUND) {
		goto out;
	}
	err = ZG_ERR_INTERNAL;
	if (pthread_create(&a->writer, NULL, zg_audit_writer_main, a) != 0)
		goto out;
	a->writer_started = true;
	if (pthread_create(&a->signer, NULL, signer_main, a) != 0)
		goto out;
	a->signer_started = true;
	if (pthread_create(&a->indexer, NULL, zg_audit_indexer_main, a) != 0)
		goto out;
	a->indexer_started = true;
	if ((err = zg_forwarder_start(a, &a->forwarder, em)) != ZG_OK)
		goto out;
	/* After a crash, events may follow the last head: sign them now
	 * rather than at the end of the first interval. */
	if (!a->heads_frozen && !zg_keyring_sealed(kr) &&
	    (!a->have_latest || a->latest.tree_size < size) &&
	    zg_audit_sign_head(a) != ZG_OK)
		zg_log_warn("cannot sign a tree head at start");
	zg_log_info("audit log opened", ZGF_I("tree_size", size),
	    ZGF_I("tree_head_interval_s", cfg->audit_tree_head_interval_s));
	*out = a;
	a = NULL; /* owned by the caller now */
	/* success */
	err = ZG_OK;
out:
	zg_audit_close(a);
	return err;
}

void
zg_audit_close(zg_audit *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stopping = true;
	pthread_cond_broadcast(&a->work_cv);
	pthread_cond_broadcast(&a->head_cv);
	pthread_cond_broadcast(&a->index_cv);
	pthread_mutex_unlock(&a->mu);
	if (a->writer_started)
		pthread_join(a->writer, NULL);
	if (a->signer_started)
		pthread_join(a->signer, NULL);
	if (a->indexer_started)
		pthread_join(a->indexer, NULL);
	zg_forwarder_stop(a->forwarder);
	/* The writer has stored its last batch, so one more catch-up runs. */
	if (a->indexer_started)
		zg_audit_index_step(a);
	/* A final head covers everything written before the stop. */
	if (a->writer_started && !zg_keyring_sealed(a->kr) &&
	    zg_audit_sign_head(a) != ZG_OK)
		zg_log_warn("cannot sign the final audit tree head");
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->sign_mu);
	pthread_cond_destroy(&a->work_cv);
	pthread_cond_destroy(&a->head_cv);
	pthread_cond_destroy(&a->index_cv);
	free(a);
}
