/* Private to src/audit/. */
#ifndef ZG_AUDIT_INTERNAL_H
#define ZG_AUDIT_INTERNAL_H

#include <pthread.h>

#include "audit/audit.h"
#include "base/buf.h"

/* A caller waiting in zg_audit_record for its event to become durable. */
struct audit_waiter {
	uint8_t *canonical;          /* borrowed from the caller */
	size_t len;
	int64_t timestamp;
	uint8_t user_hmac[32];
	uint8_t resource_hmac[32];
	bool done;
	zg_err err;
	uint64_t index;
	pthread_cond_t cv;           /* signalled when done is set */
	zg_audit_done_fn done_fn;    /* set: called instead of signalling */
	void *done_ctx;
	zg_buf owned;                /* canonical bytes of an async append */
	struct audit_waiter *next;
};

struct zg_forwarder;

struct zg_audit {
	zg_store *st;
	zg_keyring *kr;
	zg_config cfg;

	pthread_mutex_t mu;          /* guards everything below */
	pthread_cond_t work_cv;      /* the writer waits for events */
	pthread_cond_t head_cv;      /* the signer waits for its interval */
	pthread_cond_t index_cv;     /* the indexer waits for its interval */
	struct audit_waiter *head;
	struct audit_waiter *tail;
	struct zg_merkle_frontier frontier; /* of the durable tree */
	bool failed;                 /* the last append failed */
	int64_t failed_since;
	bool stopping;
	zg_tree_head_row latest;     /* latest signed head; tree_size 0: none */
	bool have_latest;
	bool heads_frozen;           /* the stored tree failed its check at
	                              * start: sign no new head over it */
	pthread_mutex_t sign_mu;     /* serializes signing */

	pthread_t writer;
	pthread_t signer;
	pthread_t indexer;
	bool writer_started;
	bool signer_started;
	bool indexer_started;
	uint64_t indexed_upto;       /* the indexer's; see zg_audit_index_step */
	unsigned index_failures;     /* catch-ups failed in a row */
	struct zg_forwarder *forwarder;
};

/*
 * Starts the SIEM forwarders configured in a->cfg (forward.c); a NULL
 * *out means none is configured. zg_forwarder_notify wakes them after
 * events became durable; zg_forwarder_stop stops and frees.
 */
zg_err zg_forwarder_start(zg_audit *a, struct zg_forwarder **out,
    zg_errmsg *em);
void zg_forwarder_notify(struct zg_forwarder *f);
void zg_forwarder_stop(struct zg_forwarder *f);

/*
 * Queues a syslog message that is not in the log, such as kind
 * "audit_failure" when the log cannot be written, and wakes the forwarder
 * to send it at once. Does nothing if f is NULL, syslog is not configured
 * or kind is not in audit_critical_events. Never blocks on the network,
 * so the writer may call it with a->mu held.
 */
void zg_forwarder_alert(struct zg_forwarder *f, const char *kind,
    const char *text);

/* The writer thread's body (log.c). */
void *zg_audit_writer_main(void *arg);

/*
 * The search indexer's body (log.c), which runs zg_audit_index_step while
 * the log has grown past the store's search index.
 */
void *zg_audit_indexer_main(void *arg);

/*
 * Indexes up to one batch of the events that the store's search index
 * does not cover yet, and logs a failure. Called by the indexer thread,
 * and by zg_audit_close once that thread has stopped.
 */
void zg_audit_index_step(zg_audit *a);

/* Signs a head for the current durable tree if it grew (log.c). */
zg_err zg_audit_sign_head(zg_audit *a);

#endif
