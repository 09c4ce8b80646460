/*
 * The reading side of zg_verify_store (audit/verify.c): batches of events
 * copied out of the store, the stored nodes read ahead a block per level,
 * and the thread that hashes one batch while the next is read.
 */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/verify_internal.h"
#include "base/buf.h"

/* Reads the block of stored nodes of level from index on into c. */
static zg_err
node_cursor_fill(struct store_verifier *v, struct node_cursor *c,
    unsigned level, uint64_t index)
{
	if (c->rows == NULL) {
		c->cap = NODE_BLOCK >> (level < 6 ? level : 6);
		if ((c->rows = calloc(c->cap, sizeof(*c->rows))) == NULL)
			return ZG_ERR_NOMEM;
	}
	c->n = c->pos = 0;
	c->lo = index;
	c->direct = false;
	zg_err err = v->st->ops->audit_nodes_range(v->st, level, index, c->cap,
	    c->rows, &c->n);
	if (err == ZG_ERR_INTEGRITY) {
		/*
		 * One of the next cap stored nodes is malformed. Reading
		 * the next cap indexes one at a time reports it at the
		 * event that needs it, or moves past it if it is not needed.
		 */
		c->direct = true;
		c->hi = index + c->cap;
		return ZG_OK;
	}
	if (err != ZG_OK)
		return err;
	/* A short block read every stored node from index on. */
	c->hi = c->n == c->cap ? c->rows[c->n - 1].index + 1 : UINT64_MAX;
	return ZG_OK;
}

zg_err
zg_verify_node_lookup(struct store_verifier *v, unsigned level,
    uint64_t index, uint8_t out[32])
{
	struct node_cursor *c = &v->nodes[level];
	zg_err err;

	if (index < c->lo || index >= c->hi) {
		if ((err = node_cursor_fill(v, c, level, index)) != ZG_OK)
			return err;
	}
	if (c->direct)
		return v->st->ops->audit_node_get(v->st, level, index, out);
	if (c->pos > 0 && c->rows[c->pos - 1].index >= index)
		c->pos = 0; /* asked out of order: search the block again */
	while (c->pos < c->n && c->rows[c->pos].index < index)
		c->pos++;
	if (c->pos == c->n || c->rows[c->pos].index != index)
		return ZG_ERR_NOT_FOUND;
	memcpy(out, c->rows[c->pos].hash, 32);
	c->pos++;
	return ZG_OK;
}

/*
 * Copies one event into the batch: the zg_audit_visit_fn of
 * zg_verify_read_batch.
 */
static zg_err
copy_event(void *ctx, uint64_t leaf_index, const uint8_t *canonical,
    size_t len, int64_t timestamp)
{
	struct event_batch *b = ctx;

	if (b->n == VERIFY_BATCH)
		return ZG_ERR_INTERNAL; /* the store returned more than limit */
	if (len > b->cap - b->used) {
		size_t cap = b->cap > 0 ? b->cap : 1 << 20;
		while (len > cap - b->used) {
			if (cap > SIZE_MAX / 2)
				return ZG_ERR_NOMEM;
			cap *= 2;
		}
		uint8_t *p = malloc(cap);
		if (p == NULL)
			return ZG_ERR_NOMEM;
		if (b->used > 0)
			memcpy(p, b->bytes, b->used);
		zg_wipe(b->bytes, b->high);
		free(b->bytes);
		b->bytes = p;
		b->cap = cap;
		b->high = b->used;
	}
	if (len > 0)
		memcpy(b->bytes + b->used, canonical, len);
	b->events[b->n].leaf_index = leaf_index;
	b->events[b->n].offset = b->used;
	b->events[b->n].len = len;
	b->n++;
	b->used += len;
	if (b->used > b->high)
		b->high = b->used;
	return ZG_OK;
}

zg_err
zg_verify_read_batch(struct store_verifier *v, uint64_t from,
    struct event_batch *b)
{
	b->n = 0;
	b->used = 0;
	b->malformed = false;
	zg_err err = v->st->ops->audit_events_visit(v->st, from, VERIFY_BATCH,
	    copy_event, b);
	if (err == ZG_ERR_INTEGRITY) {
		b->malformed = true;
		return ZG_OK;
	}
	return err;
}

/* Computes the leaf hash and the encoding check of every event of b. */
static void
hash_batch(struct event_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct batch_event *e = &b->events[i];
		const uint8_t *bytes = b->bytes + e->offset;
		e->hash_err = zg_merkle_leaf_hash(bytes, e->len, e->leaf);
		e->valid = zg_audit_validate(bytes, e->len) == ZG_OK;
	}
}

static void *
hasher_main(void *arg)
{
	struct hasher *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (h->job == NULL && !h->quit)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->job == NULL)
			break;
		struct event_batch *b = h->job;
		pthread_mutex_unlock(&h->lock);
		hash_batch(b);
		pthread_mutex_lock(&h->lock);
		h->job = NULL;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

void
zg_verify_hasher_init(struct hasher *h)
{
	if (pthread_mutex_init(&h->lock, NULL) != 0)
		return;
	if (pthread_cond_init(&h->cond, NULL) != 0) {
		pthread_mutex_destroy(&h->lock);
		return;
	}
	if (pthread_create(&h->thread, NULL, hasher_main, h) != 0) {
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->lock);
		return;
	}
	h->running = true;
}

void
zg_verify_hasher_start_job(struct hasher *h, struct event_batch *b)
{
	if (!h->running) {
		hash_batch(b);
		return;
	}
	pthread_mutex_lock(&h->lock);
	assert(h->job == NULL);
	h->job = b;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

void
zg_verify_hasher_wait(struct hasher *h)
{
	if (!h->running)
		return;
	pthread_mutex_lock(&h->lock);
	while (h->job != NULL)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

void
zg_verify_hasher_stop(struct hasher *h)
{
	if (!h->running)
		return;
	pthread_mutex_lock(&h->lock);
	h->quit = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	h->running = false;
}
