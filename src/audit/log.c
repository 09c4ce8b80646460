/*
 * The audit log's writer (group commit) and tree-head signer.
 *
 * zg_audit_record encodes the event in the caller's thread, queues it and
 * sleeps. The writer thread takes everything queued, assigns leaf indexes,
 * extends a copy of the Merkle frontier and writes the events and the new
 * perfect-subtree hashes in one store transaction, so one fsync covers the
 * whole batch. Only then does it publish the new frontier and wake the
 * callers. If the transaction fails, nothing is published, every caller in
 * the batch gets ZG_ERR_AUDIT_UNAVAILABLE and the log is marked failed
 * until a probe append succeeds.
 *
 * The append transaction leaves out the search index over the user and
 * resource hashes, whose random keys made each commit slow. The indexer
 * thread adds those entries later through audit_index_catch_up, and a
 * search scans whatever it has not covered yet. A failing or lagging
 * indexer slows searches but never fails an append. An append that comes
 * while a catch-up transaction runs waits for the store's writer lock
 * until that transaction ends.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit_internal.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "vault/vault.h"

#define MAX_BATCH 4096

/*
 * Events per search-index transaction, and the time between two of them.
 * A catch-up holds the store's writer lock while it runs. Index keys start
 * with the leaf index's 65,536-event bucket, so new entries go to the
 * newest bucket's pages: in one run on a 2-core VM a 5,500-event catch-up
 * took 17-38 ms at 1,000,000 events, depending on how full the bucket was.
 */
#define INDEX_BATCH 20000
#define INDEX_INTERVAL_MS 200

struct node_list {
	zg_merkle_node_row *rows;
	size_t n;
	size_t cap;
};

static zg_err
collect_node(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
	struct node_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		zg_merkle_node_row *p = realloc(l->rows, cap * sizeof(*p));
		if (p == NULL)
			return ZG_ERR_NOMEM;
		l->rows = p;
		l->cap = cap;
	}
	l->rows[l->n].level = level;
	l->rows[l->n].index = index;
	memcpy(l->rows[l->n].hash, hash, 32);
	l->n++;
	return ZG_OK;
}

/*
 * Writes one batch. frontier is the durable frontier on entry; on success
 * it is advanced past the batch.
 */
static zg_err
write_batch(zg_audit *a, struct audit_waiter *batch,
    struct zg_merkle_frontier *frontier)
{
	zg_err err = ZG_ERR_INTERNAL;
	struct node_list nodes = {0};
	size_t n = 0;
	for (struct audit_waiter *w = batch; w; w = w->next)
		n++;
	zg_audit_append_row *rows = calloc(n, sizeof(*rows));
	struct zg_merkle_frontier *next = malloc(sizeof(*next));
	if (rows == NULL || next == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	*next = *frontier;
	size_t i = 0;
	for (struct audit_waiter *w = batch; w; w = w->next, i++) {
		uint8_t leaf[32];
		w->index = next->tree_size;
		if ((err = zg_merkle_leaf_hash(w->canonical, w->len, leaf)) != ZG_OK ||
		    (err = zg_merkle_frontier_append(next, leaf, collect_node,
		    &nodes)) != ZG_OK)
			goto out;
		rows[i].leaf_index = w->index;
		rows[i].canonical = w->canonical;
		rows[i].canonical_len = w->len;
		rows[i].timestamp = w->timestamp;
		memcpy(rows[i].user_hmac, w->user_hmac, 32);
		memcpy(rows[i].resource_hmac, w->resource_hmac, 32);
	}
	if ((err = a->st->ops->audit_append(a->st, rows, n, nodes.rows,
	    nodes.n)) != ZG_OK)
		goto out;
	*frontier = *next;
	/* success */
	err = ZG_OK;
out:
	free(rows);
	free(next);
	free(nodes.rows);
	return err;
}

/* Runs the callbacks of finished asynchronous appends and frees them. */
static void
complete_async(struct audit_waiter *list)
{
	for (struct audit_waiter *w = list, *nx; w; w = nx) {
		nx = w->next;
		w->done_fn(w->done_ctx, w->err, w->index);
		zg_buf_free(&w->owned);
		free(w);
	}
}

/* Builds and encodes the event the writer appends to test a failed log. */
static zg_err
probe_event(zg_audit *a, zg_buf *out, struct audit_waiter *w)
{
	zg_audit_event ev;
	char since[40];
	memset(&ev, 0, sizeof(ev));
	zg_time_format_rfc3339_us(a->failed_since, since, sizeof(since));
	zg_err err = zg_make_id("evt_", 16, ev.event_id, sizeof(ev.event_id));
	if (err != ZG_OK)
		return err;
	json_t *meta = json_pack("{s:s}", "unavailableSince", since);
	ev.timestamp = zg_time_now_us();
	ev.user_id = "";
	ev.event_type = "configuration_change";
	ev.resource = "audit";
	ev.action = "recover";
	ev.success = true;
	ev.metadata = meta;
	err = zg_audit_encode(a->kr, a->st, &ev, out);
	json_decref(meta);
	if (err != ZG_OK)
		return err;
	memset(w, 0, sizeof(*w));
	w->canonical = out->data;
	w->len = out->len;
	w->timestamp = ev.timestamp;
	if (zg_audit_index_hash(a->kr, "", w->user_hmac) != ZG_OK ||
	    zg_audit_index_hash(a->kr, "audit", w->resource_hmac) != ZG_OK) {
		/* Sealed: index hashes need the index key; use zeros. */
		memset(w->user_hmac, 0, 32);
		memset(w->resource_hmac, 0, 32);
	}
	return ZG_OK;
}

void *
zg_audit_writer_main(void *arg)
{
	zg_audit *a = arg;
	struct zg_merkle_frontier *frontier = malloc(sizeof(*frontier));

	pthread_mutex_lock(&a->mu);
	if (frontier != NULL)
		*frontier = a->frontier;
	for (;;) {
		while (a->head == NULL && !a->stopping && !a->failed)
			pthread_cond_wait(&a->work_cv, &a->mu);
		if (a->head == NULL && a->stopping)
			break;
		if (a->head == NULL && a->failed) {
			/* Nothing queued while failed: probe once a second. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&a->work_cv, &a->mu, &ts);
			if (a->head != NULL || a->stopping)
				continue;
			pthread_mutex_unlock(&a->mu);
			zg_buf probe = ZG_BUF_INIT;
			struct audit_waiter w;
			zg_err err = probe_event(a, &probe, &w);
			if (err == ZG_OK && frontier != NULL)
				err = write_batch(a, &w, frontier);
			zg_buf_free(&probe);
			pthread_mutex_lock(&a->mu);
			if (err == ZG_OK && frontier != NULL) {
				a->frontier = *frontier;
				a->failed = false;
				zg_log_info("audit log is writable again",
				    ZGF_I("tree_size", frontier->tree_size));
			}
			continue;
		}
		/* Take the whole queue, up to MAX_BATCH events. */
		struct audit_waiter *batch = a->head, *last = a->head;
		size_t n = 1;
		while (last->next != NULL && n < MAX_BATCH) {
			last = last->next;
			n++;
		}
		a->head = last->next;
		if (a->head == NULL)
			a->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&a->mu);

		zg_err err = frontier ? write_batch(a, batch, frontier) :
		    ZG_ERR_NOMEM;

		pthread_mutex_lock(&a->mu);
		if (err == ZG_OK) {
			a->frontier = *frontier;
			if (a->failed)
				zg_log_info("audit log is writable again",
				    ZGF_I("tree_size", frontier->tree_size));
			a->failed = false;
		} else {
			if (!a->failed) {
				a->failed_since = zg_time_now_us();
				zg_log_error("audit log append failed; refusing "
				    "audited operations until it recovers",
				    ZGF_ERR(err), ZGF_I("events", n));
				zg_forwarder_alert(a->forwarder, "audit_failure",
				    "the audit log cannot be written");
			}
			a->failed = true;
		}
		/* Each caller has its own condition variable, so a batch wakes
		 * only its own callers. The next pointer is read before done is
		 * set, because a caller may free its waiter once it sees done.
		 * Asynchronous appends are collected and completed after the
		 * lock is released, since their callbacks do real work. */
		struct audit_waiter *async_done = NULL;
		for (struct audit_waiter *w = batch, *nx; w; w = nx) {
			nx = w->next;
			w->err = err == ZG_OK ? ZG_OK : ZG_ERR_AUDIT_UNAVAILABLE;
			if (w->done_fn != NULL) {
				w->next = async_done;
				async_done = w;
				continue;
			}
			w->done = true;
			pthread_cond_signal(&w->cv);
		}
		if (async_done != NULL) {
			pthread_mutex_unlock(&a->mu);
			complete_async(async_done);
			pthread_mutex_lock(&a->mu);
		}
		if (err == ZG_OK && a->forwarder != NULL)
			zg_forwarder_notify(a->forwarder);
	}
	pthread_mutex_unlock(&a->mu);
	free(frontier);
	return NULL;
}

zg_err
zg_audit_record(zg_audit *a, zg_audit_event *ev, uint64_t *leaf_index)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf bytes = ZG_BUF_INIT;
	struct audit_waiter w;

	memset(&w, 0, sizeof(w));
	pthread_cond_init(&w.cv, NULL);
	if (ev->event_id[0] == '\0' &&
	    (err = zg_make_id("evt_", 16, ev->event_id,
	    sizeof(ev->event_id))) != ZG_OK)
		goto out;
	if (ev->timestamp == 0)
		ev->timestamp = zg_time_now_us();
	if ((err = zg_audit_encode(a->kr, a->st, ev, &bytes)) != ZG_OK)
		goto out;
	if (!zg_keyring_sealed(a->kr)) {
		if ((err = zg_audit_index_hash(a->kr, ev->user_id ? ev->user_id :
		    "", w.user_hmac)) != ZG_OK ||
		    (err = zg_audit_index_hash(a->kr, ev->resource ? ev->resource :
		    "", w.resource_hmac)) != ZG_OK)
			goto out;
	}
	w.canonical = bytes.data;
	w.len = bytes.len;
	w.timestamp = ev->timestamp;

	pthread_mutex_lock(&a->mu);
	if (a->stopping) {
		pthread_mutex_unlock(&a->mu);
		err = ZG_ERR_UNAVAILABLE;
		goto out;
	}
	if (a->tail)
		a->tail->next = &w;
	else
		a->head = &w;
	a->tail = &w;
	pthread_cond_signal(&a->work_cv);
	while (!w.done)
		pthread_cond_wait(&w.cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
	err = w.err;
	if (err == ZG_OK && leaf_index != NULL)
		*leaf_index = w.index;
out:
	pthread_cond_destroy(&w.cv);
	zg_buf_free(&bytes);
	return err;
}

zg_err
zg_audit_record_async(zg_audit *a, zg_audit_event *ev, zg_audit_done_fn done,
    void *ctx)
{
	zg_err err = ZG_ERR_INTERNAL;
	struct audit_waiter *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return ZG_ERR_NOMEM;
	if (ev->event_id[0] == '\0' &&
	    (err = zg_make_id("evt_", 16, ev->event_id,
	    sizeof(ev->event_id))) != ZG_OK)
		goto out;
	if (ev->timestamp == 0)
		ev->timestamp = zg_time_now_us();
	if ((err = zg_audit_encode(a->kr, a->st, ev, &w->owned)) != ZG_OK)
		goto out;
	if (!zg_keyring_sealed(a->kr)) {
		if ((err = zg_audit_index_hash(a->kr, ev->user_id ? ev->user_id :
		    "", w->user_hmac)) != ZG_OK ||
		    (err = zg_audit_index_hash(a->kr, ev->resource ? ev->resource :
		    "", w->resource_hmac)) != ZG_OK)
			goto out;
	}
	w->canonical = w->owned.data;
	w->len = w->owned.len;
	w->timestamp = ev->timestamp;
	w->done_fn = done;
	w->done_ctx = ctx;

	pthread_mutex_lock(&a->mu);
	if (a->stopping) {
		pthread_mutex_unlock(&a->mu);
		err = ZG_ERR_UNAVAILABLE;
		goto out;
	}
	if (a->tail)
		a->tail->next = w;
	else
		a->head = w;
	a->tail = w;
	pthread_cond_signal(&a->work_cv);
	pthread_mutex_unlock(&a->mu);
	w = NULL; /* owned by the writer now */
	/* success */
	err = ZG_OK;
out:
	if (w != NULL) {
		zg_buf_free(&w->owned);
		free(w);
	}
	return err;
}

bool
zg_audit_available(zg_audit *a)
{
	pthread_mutex_lock(&a->mu);
	bool ok = !a->failed;
	pthread_mutex_unlock(&a->mu);
	return ok;
}

uint64_t
zg_audit_size(zg_audit *a)
{
	pthread_mutex_lock(&a->mu);
	uint64_t n = a->frontier.tree_size;
	pthread_mutex_unlock(&a->mu);
	return n;
}

void
zg_audit_index_step(zg_audit *a)
{
	uint64_t upto = 0;
	zg_err err = a->st->ops->audit_index_catch_up(a->st, INDEX_BATCH,
	    &upto);

	pthread_mutex_lock(&a->mu);
	if (err == ZG_OK) {
		if (a->index_failures > 0)
			zg_log_info("audit search index is being updated again",
			    ZGF_I("indexed_upto", upto),
			    ZGF_I("failed_attempts", a->index_failures));
		a->index_failures = 0;
		a->indexed_upto = upto;
	} else if (a->index_failures++ == 0) {
		/* Logged once per run of failures; the store logs each one. */
		zg_log_error("updating the audit search index failed; "
		    "searches scan the unindexed events until it succeeds",
		    ZGF_ERR(err), ZGF_I("indexed_upto", a->indexed_upto),
		    ZGF_I("tree_size", a->frontier.tree_size));
	}
	pthread_mutex_unlock(&a->mu);
}

/*
 * Runs a catch-up at start, which indexes what a crash left unindexed,
 * then at most once every INDEX_INTERVAL_MS while the log has grown past
 * the index. A failed catch-up is retried at the next interval.
 */
void *
zg_audit_indexer_main(void *arg)
{
	zg_audit *a = arg;
	bool first = true;

	pthread_mutex_lock(&a->mu);
	while (!a->stopping) {
		if (first || a->indexed_upto < a->frontier.tree_size) {
			first = false;
			pthread_mutex_unlock(&a->mu);
			zg_audit_index_step(a);
			pthread_mutex_lock(&a->mu);
			if (a->stopping)
				break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += INDEX_INTERVAL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&a->index_cv, &a->mu, &ts);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}
