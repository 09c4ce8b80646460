/*
 * Verification of the stored audit log (zg_verify_store).
 *
 * One pass over the events in index order, in batches of VERIFY_BATCH:
 *
 *   1. the indexes run 0, 1, 2, ... up to the stored tree size, with no gap
 *      and nothing after it;
 *   2. each event's leaf hash, recomputed from its canonical bytes, equals
 *      the stored level-0 node, and the bytes decode as format 1;
 *   3. the leaf extends a Merkle frontier, and each perfect-subtree hash the
 *      frontier completes equals the stored node of that (level, index);
 *   4. when the frontier reaches the size of a signed tree head, the head's
 *      signature verifies under the public key and its root equals the
 *      frontier's root.
 *
 * Heads are read alongside, in ascending size. The stored tree size comes
 * from the level-0 nodes, so events deleted at the end without their nodes
 * show as missing events, and events deleted with their nodes show as heads
 * beyond the log. Memory stays bounded by one batch of events and heads.
 *
 * Stored nodes are read ahead, a block per level at a time with
 * audit_nodes_range (struct node_cursor), rather than one query per node:
 * the frontier requests the nodes of each level in ascending index order.
 * Step 2 checks the encoding with zg_audit_validate, which accepts the
 * same bytes as zg_audit_decode without building the readable event.
 *
 * The reading side, which fills batches of events, reads the stored
 * nodes ahead and runs the hashing thread, is in audit/verify_read.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/verify_internal.h"
#include "base/buf.h"
#include "base/codec.h"

void
zg_verify_fail(zg_verify_report *report, enum zg_verify_failure failure,
    uint64_t index, const char *fmt, ...)
{
	va_list ap;

	if (report->failure != ZG_VERIFY_PASSED)
		return;
	report->failure = failure;
	report->index = index;
	va_start(ap, fmt);
	vsnprintf(report->message, sizeof(report->message), fmt, ap);
	va_end(ap);
}

bool
zg_verify_head(const zg_tree_head_row *head, const uint8_t root[32],
    const uint8_t *pub, zg_verify_report *report)
{
	uint8_t msg[ZG_TREE_HEAD_MSG_LEN];
	char key_id[ZG_AUDIT_KEY_ID_MAX];
	uint64_t size = head->tree_size;

	if (pub == NULL) {
		zg_verify_fail(report, ZG_VERIFY_HEAD_SIGNATURE, size,
		    "tree head at size %" PRIu64 ": no public key to check "
		    "its signature", size);
		return false;
	}
	/*
	 * The signature is checked first, so that a head whose own fields were
	 * altered is distinguished from events changed after a genuine head
	 * was signed.
	 */
	zg_tree_head_message(size, head->root, head->timestamp, msg);
	zg_err err = zg_ed25519_verify(pub, msg, sizeof(msg), head->signature);
	if (err != ZG_OK) {
		char other[ZG_QUOTE_MAX + ZG_AUDIT_KEY_ID_MAX + 64] = "";
		char named[ZG_QUOTE_MAX];
		zg_audit_key_id(pub, key_id);
		if (memchr(head->key_id, '\0', sizeof(head->key_id)) != NULL &&
		    strcmp(head->key_id, key_id) != 0) {
			zg_quote_value(head->key_id, named, sizeof(named));
			snprintf(other, sizeof(other), ", or signed by key %s "
			    "while the public key is %s", named, key_id);
		}
		zg_verify_fail(report, ZG_VERIFY_HEAD_SIGNATURE, size,
		    "tree head at size %" PRIu64 ": bad signature (the head "
		    "was altered%s)", size, other);
		return false;
	}
	if (memcmp(root, head->root, 32) != 0) {
		if (report->heads > 0)
			zg_verify_fail(report, ZG_VERIFY_HEAD_ROOT, size,
			    "tree head at size %" PRIu64 ": root mismatch; the "
			    "events before index %" PRIu64 " were changed after "
			    "it was signed (first head that fails; the last "
			    "good head covers %" PRIu64 " events)", size, size,
			    report->last_head.tree_size);
		else
			zg_verify_fail(report, ZG_VERIFY_HEAD_ROOT, size,
			    "tree head at size %" PRIu64 ": root mismatch; the "
			    "events before index %" PRIu64 " were changed after "
			    "it was signed (the first head fails)", size, size);
		return false;
	}
	report->heads++;
	report->last_head = *head;
	return true;
}

/* Makes the next head current; a malformed row ends in a failure. */
static zg_err
heads_advance(struct store_verifier *v)
{
	struct head_cursor *c = &v->heads;
	zg_err err;

	if (c->pos < c->n) {
		c->after = c->rows[c->pos].tree_size;
		c->pos++;
	}
	if (c->pos < c->n || c->done)
		return ZG_OK;
	free(c->rows);
	c->rows = NULL;
	c->n = c->pos = 0;
	err = v->st->ops->audit_heads(v->st, c->after, HEAD_BATCH, &c->rows,
	    &c->n);
	if (err != ZG_OK) {
		/* One bad row fails the batch; read one to see where it is. */
		err = v->st->ops->audit_heads(v->st, c->after, 1, &c->rows,
		    &c->n);
	}
	if (err == ZG_ERR_NOMEM)
		return err;
	if (err != ZG_OK) {
		c->done = true;
		zg_verify_fail(v->report, ZG_VERIFY_HEAD_MALFORMED, c->after + 1,
		    "the tree head after size %" PRIu64 " cannot be read: %s "
		    "(malformed or altered row)", c->after, zg_strerror(err));
		return ZG_OK;
	}
	if (c->n == 0)
		c->done = true;
	return ZG_OK;
}

static const zg_tree_head_row *
heads_current(const struct store_verifier *v)
{
	const struct head_cursor *c = &v->heads;
	return c->pos < c->n ? &c->rows[c->pos] : NULL;
}

/* Compares a subtree hash the frontier completed with the stored one. */
static zg_err
check_node(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
	struct store_verifier *v = ctx;
	uint8_t stored[32];

	if (level == 0)
		return ZG_OK; /* the leaf was compared before the append */
	uint64_t first = index << level;
	uint64_t last = first + ((uint64_t)1 << level) - 1;
	zg_err err = zg_verify_node_lookup(v, level, index, stored);
	if (err == ZG_ERR_NOT_FOUND) {
		zg_verify_fail(v->report, ZG_VERIFY_NODE_MISSING, v->leaf,
		    "event %" PRIu64 ": the Merkle node (level %u, index %"
		    PRIu64 ") over events %" PRIu64 " to %" PRIu64 " is not "
		    "stored (deleted node)", v->leaf, level, index, first, last);
		return ZG_ERR_INTEGRITY;
	}
	if (err == ZG_ERR_INTEGRITY || (err == ZG_OK &&
	    memcmp(stored, hash, 32) != 0)) {
		zg_verify_fail(v->report, ZG_VERIFY_NODE_MODIFIED, v->leaf,
		    "event %" PRIu64 ": the stored Merkle node (level %u, "
		    "index %" PRIu64 ") over events %" PRIu64 " to %" PRIu64
		    " %s (modified node, or events reordered with their leaf "
		    "hashes)", v->leaf, level, index, first, last,
		    err == ZG_OK ? "does not match the recomputed hash" :
		    "is malformed");
		return ZG_ERR_INTEGRITY;
	}
	return err;
}

/*
 * Checks one event whose index is v->leaf, hashed by the hasher: its
 * stored leaf hash, its encoding, the nodes it completes and any head at
 * the new size.
 */
static zg_err
check_event(struct store_verifier *v, const struct batch_event *e)
{
	zg_verify_report *r = v->report;
	uint64_t i = v->leaf;
	uint8_t stored[32];
	zg_err err;

	if (e->hash_err != ZG_OK)
		return e->hash_err;
	err = zg_verify_node_lookup(v, 0, i, stored);
	if (err == ZG_ERR_NOT_FOUND) {
		zg_verify_fail(r, ZG_VERIFY_NODE_MISSING, i, "event %" PRIu64
		    ": its leaf hash is not stored (deleted node)", i);
		return ZG_OK;
	}
	if (err == ZG_ERR_INTEGRITY) {
		zg_verify_fail(r, ZG_VERIFY_NODE_MODIFIED, i, "event %" PRIu64
		    ": its stored leaf hash is malformed (modified node)", i);
		return ZG_OK;
	}
	if (err != ZG_OK)
		return err;
	if (memcmp(e->leaf, stored, 32) != 0) {
		zg_verify_fail(r, ZG_VERIFY_EVENT_MODIFIED, i, "event %" PRIu64
		    ": stored canonical bytes do not match the stored leaf "
		    "hash (modified or reordered event, or modified leaf hash)",
		    i);
		return ZG_OK;
	}
	if (!e->valid) {
		zg_verify_fail(r, ZG_VERIFY_EVENT_UNDECODABLE, i, "event %"
		    PRIu64 ": its canonical bytes (%zu bytes) do not decode as "
		    "a format-%d event", i, e->len,
		    ZG_AUDIT_FORMAT_V1);
		return ZG_OK;
	}

	err = zg_merkle_frontier_append(&v->frontier, e->leaf, check_node, v);
	if (r->failure != ZG_VERIFY_PASSED)
		return ZG_OK;
	if (err != ZG_OK)
		return err;
	r->events++;

	const zg_tree_head_row *h;
	while ((h = heads_current(v)) != NULL &&
	    h->tree_size == v->frontier.tree_size) {
		uint8_t root[32];
		if ((err = zg_merkle_frontier_root(&v->frontier, root)) != ZG_OK)
			return err;
		if (!zg_verify_head(h, root, v->pub, r))
			return ZG_OK;
		if ((err = heads_advance(v)) != ZG_OK)
			return err;
	}
	return ZG_OK;
}

/*
 * Checks that leaf_index, the next event read, is v->leaf and that the tree
 * has room for it.
 */
static bool
check_index(struct store_verifier *v, uint64_t leaf_index)
{
	zg_verify_report *r = v->report;

	if (leaf_index > v->leaf && v->leaf < v->size) {
		zg_verify_fail(r, ZG_VERIFY_EVENT_MISSING, v->leaf, "event %"
		    PRIu64 " is missing (deleted event or truncated log)",
		    v->leaf);
		return false;
	}
	if (leaf_index >= v->size) {
		zg_verify_fail(r, ZG_VERIFY_EVENT_EXTRA, leaf_index,
		    "event %" PRIu64 " is beyond the log's Merkle tree of %"
		    PRIu64 " leaves (inserted event, or deleted leaf hashes)",
		    leaf_index, v->size);
		return false;
	}
	return true;
}

/* The checks after the last event: nothing missing, no head left over. */
static void
check_end(struct store_verifier *v)
{
	zg_verify_report *r = v->report;
	const zg_tree_head_row *h = heads_current(v);

	if (v->leaf < v->size) {
		zg_verify_fail(r, ZG_VERIFY_EVENT_MISSING, v->leaf, "event %"
		    PRIu64 " is missing (deleted event or truncated log)",
		    v->leaf);
	} else if (h != NULL) {
		zg_verify_fail(r, ZG_VERIFY_HEAD_BEYOND, h->tree_size,
		    "tree head at size %" PRIu64 " is beyond the log's %"
		    PRIu64 " events (truncated log)", h->tree_size, v->size);
	} else if (r->heads == 0 && v->size > 0) {
		zg_verify_fail(r, ZG_VERIFY_NO_HEAD, 0, "no signed tree head "
		    "covers the log's %" PRIu64 " events, so nothing proves "
		    "they are the ones that were written (deleted tree heads, "
		    "or a daemon that has not signed a head yet)", v->size);
	}
}

/*
 * Checks the hashed events of b in order, stopping at the first failure.
 * A row that could not be read after them fails at the next index.
 */
static zg_err
check_batch(struct store_verifier *v, const struct event_batch *b,
    zg_verify_progress_fn progress, void *ctx)
{
	zg_verify_report *r = v->report;
	zg_err err;

	for (size_t i = 0; i < b->n && r->failure == ZG_VERIFY_PASSED; i++) {
		const struct batch_event *e = &b->events[i];
		if (!check_index(v, e->leaf_index))
			return ZG_OK;
		if ((err = check_event(v, e)) != ZG_OK)
			return err;
		v->leaf++;
		if (progress != NULL && v->leaf % ZG_VERIFY_PROGRESS_EVERY == 0)
			progress(ctx, v->leaf, v->size);
	}
	if (b->malformed)
		zg_verify_fail(r, ZG_VERIFY_EVENT_MALFORMED, v->leaf, "event %"
		    PRIu64 ": the stored row cannot be read (malformed or "
		    "altered row)", v->leaf);
	return ZG_OK;
}

/*
 * Reads, hashes and checks the batches in a pipeline: while the hasher
 * hashes batch k, this thread reads batch k + 1, and then checks batch k
 * while the hasher works on k + 1. Batch k + 1 starts after the last event
 * of batch k, which is where v->leaf points if batch k passes; if it does
 * not, the loop stops before checking k + 1.
 */
static zg_err
verify_events(struct store_verifier *v, zg_verify_progress_fn progress,
    void *ctx)
{
	struct event_batch *cur = &v->batches[0], *next = &v->batches[1];
	zg_err err;

	if ((err = zg_verify_read_batch(v, v->leaf, cur)) != ZG_OK)
		return err;
	zg_verify_hasher_start_job(&v->hasher, cur);
	for (;;) {
		bool more = cur->n > 0 && !cur->malformed;
		zg_err read_err = ZG_OK;
		next->n = 0;
		next->malformed = false;
		if (more && cur->events[cur->n - 1].leaf_index < UINT64_MAX)
			read_err = zg_verify_read_batch(v,
			    cur->events[cur->n - 1].leaf_index + 1, next);
		zg_verify_hasher_wait(&v->hasher);
		if (read_err == ZG_OK && next->n > 0)
			zg_verify_hasher_start_job(&v->hasher, next);
		if ((err = check_batch(v, cur, progress, ctx)) != ZG_OK)
			return err;
		/* A failure in cur is the verdict, even if reading next failed. */
		if (!more || v->report->failure != ZG_VERIFY_PASSED)
			return ZG_OK;
		if (read_err != ZG_OK)
			return read_err;
		struct event_batch *t = cur;
		cur = next;
		next = t;
	}
}

zg_err
zg_verify_store(zg_store *st, const uint8_t *pub,
    zg_verify_progress_fn progress, void *ctx, zg_verify_report *report)
{
	zg_err err = ZG_ERR_INTERNAL;
	struct store_verifier *v = calloc(1, sizeof(*v));

	memset(report, 0, sizeof(*report));
	if (v == NULL)
		return ZG_ERR_NOMEM;
	v->st = st;
	v->pub = pub;
	v->report = report;
	zg_merkle_frontier_init(&v->frontier);
	zg_verify_hasher_init(&v->hasher);

	if ((err = st->ops->audit_size(st, &v->size)) != ZG_OK)
		goto out;
	report->log_size = v->size;
	if ((err = heads_advance(v)) != ZG_OK)
		goto out;
	if ((err = verify_events(v, progress, ctx)) != ZG_OK)
		goto out;
	if (report->failure == ZG_VERIFY_PASSED)
		check_end(v);
	/* success: a verdict was reached */
	err = ZG_OK;
out:
	zg_verify_hasher_stop(&v->hasher);
	for (int i = 0; i < 2; i++) {
		zg_wipe(v->batches[i].bytes, v->batches[i].high);
		free(v->batches[i].bytes);
	}
	free(v->heads.rows);
	for (unsigned level = 0; level < NODE_LEVELS; level++)
		free(v->nodes[level].rows);
	free(v);
	return err;
}
