/*
 * Private to audit/verify.c and audit/verify_read.c. Declares the state of
 * zg_verify_store and the reading side of its pipeline, which fills
 * batches of events, reads stored nodes ahead and hashes on a thread.
 */
#ifndef ZG_AUDIT_VERIFY_INTERNAL_H
#define ZG_AUDIT_VERIFY_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit/verify.h"

#define VERIFY_BATCH 10000
#define HEAD_BATCH 256
/* Level-0 nodes per read; level L reads NODE_BLOCK >> min(L, 6). */
#define NODE_BLOCK 8192
#define NODE_LEVELS 64

/*
 * The stored nodes of one level near the frontier. rows holds, in index
 * order, every node of the level with an index in [lo, hi) that was stored
 * when the block was read. With direct set, a malformed row lies ahead, so
 * the nodes in [lo, hi) are read one at a time to find it.
 */
struct node_cursor {
	zg_merkle_node_row *rows;
	size_t cap;
	size_t n;
	size_t pos;              /* rows before pos have smaller indexes */
	uint64_t lo;
	uint64_t hi;             /* lo == hi: nothing read yet */
	bool direct;
};

/* The heads still to check, read HEAD_BATCH at a time. */
struct head_cursor {
	zg_tree_head_row *rows;
	size_t n;
	size_t pos;
	uint64_t after;          /* size of the last head taken */
	bool done;               /* no more heads are stored */
};

/*
 * One event of a batch; its bytes are at offset in the batch's arena. The
 * hasher fills in leaf, hash_err and valid.
 */
struct batch_event {
	uint64_t leaf_index;
	size_t offset;
	size_t len;
	uint8_t leaf[32];
	zg_err hash_err;         /* from zg_merkle_leaf_hash */
	bool valid;              /* zg_audit_validate passed */
};

/*
 * A batch of events copied out of the store by audit_events_visit into
 * one arena, reused for every batch and wiped when it grows and at the
 * end, because the canonical bytes name users and resources.
 */
struct event_batch {
	struct batch_event events[VERIFY_BATCH];
	size_t n;
	bool malformed;          /* a row after the n events cannot be read */
	uint8_t *bytes;
	size_t used;
	size_t cap;
	size_t high;             /* max bytes any batch used: the extent to wipe */
};

/*
 * A thread that computes the leaf hashes and encoding checks of one batch
 * while the verifier reads the next batch and checks nodes, so that
 * SHA-256 and SQLite use two cores. job is the batch being hashed, or NULL.
 */
struct hasher {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct event_batch *job;
	bool running;            /* the thread was started */
	bool quit;
};

struct store_verifier {
	zg_store *st;
	const uint8_t *pub;
	zg_verify_report *report;
	struct zg_merkle_frontier frontier;
	struct head_cursor heads;
	struct node_cursor nodes[NODE_LEVELS];
	struct event_batch batches[2];
	struct hasher hasher;
	uint64_t size;           /* stored tree size */
	uint64_t leaf;           /* index of the event being checked */
};

/*
 * Returns the stored node (level, index) like audit_node_get does: ZG_OK,
 * ZG_ERR_NOT_FOUND, ZG_ERR_INTEGRITY for a malformed row, or a store
 * error. Each level's indexes are asked for in ascending order.
 */
zg_err zg_verify_node_lookup(struct store_verifier *v, unsigned level,
    uint64_t index, uint8_t out[32]);

/*
 * Reads the batch of events from `from` into b. A row that cannot be read
 * ends the batch early with malformed set, after the rows before it, so
 * that it is reported at its index once they pass.
 */
zg_err zg_verify_read_batch(struct store_verifier *v, uint64_t from,
    struct event_batch *b);

/*
 * Starts the hasher thread. Without it (no thread could be created, or
 * its lock could not be set up), zg_verify_hasher_start_job hashes in the
 * caller.
 */
void zg_verify_hasher_init(struct hasher *h);

/* Hands b to the hasher. Call zg_verify_hasher_wait before reading b. */
void zg_verify_hasher_start_job(struct hasher *h, struct event_batch *b);

/* Waits until the hasher has finished its batch. */
void zg_verify_hasher_wait(struct hasher *h);

/* Stops the thread after its batch. */
void zg_verify_hasher_stop(struct hasher *h);

#endif
