/*
 * The tamper-evident audit log.
 *
 * Every event is encoded canonically (event.c explains the bytes), hashed
 * into an RFC 6962 Merkle tree (merkle.h) and stored durably before the
 * operation it describes returns. Concurrent appends share one store
 * transaction and so one fsync (group commit, log.c). Tree heads are signed
 * with an Ed25519 key held under the vault's key hierarchy, at least every
 * tree_head_interval_seconds while events arrive and on request.
 *
 * Personal fields (ipAddress, userAgent, metadata) are encrypted under a
 * per-user key before hashing, so erasing a user destroys that key and
 * leaves every hash, proof and signature valid.
 *
 * When the store rejects an append, the log becomes unavailable:
 * zg_audit_available() returns false and the server refuses audited
 * operations with 503 audit_unavailable. A background probe retries every
 * second and clears the state once an append succeeds again.
 */
#ifndef ZG_AUDIT_AUDIT_H
#define ZG_AUDIT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit/merkle.h"
#include "base/config.h"
#include "base/errmsg.h"
#include "store/store.h"
#include "vault/keyring.h"

#define ZG_AUDIT_FORMAT_V1 1
#define ZG_AUDIT_SIGNING_KEY "audit_signing"
#define ZG_AUDIT_INDEX_KEY "audit_index"
#define ZG_AUDIT_USER_KEY_PREFIX "audit_user:"
#define ZG_AUDIT_KEY_ID_MAX 48

/* The fields of an event, as the workflow platform names them. */
typedef struct zg_audit_event {
	char event_id[ZG_ID_MAX];   /* filled in by zg_audit_record if empty */
	int64_t timestamp;          /* microseconds; 0: now */
	const char *user_id;        /* "" for an unauthenticated caller */
	const char *session_id;
	const char *event_type;     /* one of zg_audit_event_type_valid */
	const char *resource;
	const char *action;
	bool success;
	const char *ip_address;     /* personal: encrypted */
	const char *user_agent;     /* personal: encrypted */
	const json_t *metadata;     /* personal: encrypted; an object or NULL */
	const char *request_id;
	const char *token_id;       /* the id, never the token */
} zg_audit_event;

typedef struct zg_audit zg_audit;

/* True for the event types of the platform plus key_usage and transaction. */
bool zg_audit_event_type_valid(const char *type);
const char *zg_audit_event_types_list(void);

/*
 * Opens the log on st: loads the tree frontier and the latest tree head,
 * starts the writer, the tree-head signer and the forwarders.
 */
zg_err zg_audit_open(zg_store *st, zg_keyring *kr, const zg_config *cfg,
    zg_audit **out, zg_errmsg *em);

/* Stops the threads after the queued events are written, and frees. */
void zg_audit_close(zg_audit *a);

/*
 * Appends ev and returns once it is durable, with its leaf index.
 * ZG_ERR_AUDIT_UNAVAILABLE if the store rejected it.
 */
zg_err zg_audit_record(zg_audit *a, zg_audit_event *ev, uint64_t *leaf_index);

/* Called once an asynchronous append is durable or has failed. */
typedef void (*zg_audit_done_fn)(void *ctx, zg_err err, uint64_t leaf_index);

/*
 * Appends ev like zg_audit_record but returns at once; done runs on the
 * log's writer thread when the event is durable (err ZG_OK) or when the
 * append failed (ZG_ERR_AUDIT_UNAVAILABLE). ev is encoded before this
 * returns, so its strings need not outlive the call. On an error return
 * done is never called.
 */
zg_err zg_audit_record_async(zg_audit *a, zg_audit_event *ev,
    zg_audit_done_fn done, void *ctx);

/* False while the log cannot be written. */
bool zg_audit_available(zg_audit *a);

/* Number of durable events. */
uint64_t zg_audit_size(zg_audit *a);

/*
 * Returns the latest signed tree head. With fresh, signs a new head first
 * if events arrived since the last one. ZG_ERR_NOT_FOUND if none exists
 * yet and none can be made (an empty log); ZG_ERR_SEALED while sealed.
 */
zg_err zg_audit_tree_head(zg_audit *a, bool fresh, zg_tree_head_row *out);

/* The Ed25519 public key that signs tree heads, and its key id. */
zg_err zg_audit_public_key(zg_audit *a, uint8_t pub[ZG_ED25519_PUB_LEN],
    char key_id[ZG_AUDIT_KEY_ID_MAX]);

/* Inclusion proof of leaf index in the tree of tree_size leaves. */
zg_err zg_audit_inclusion_proof(zg_audit *a, uint64_t index,
    uint64_t tree_size, uint8_t leaf_hash[32], uint8_t root[32],
    uint8_t (*proof)[32], size_t *proof_len, zg_errmsg *em);

/* Consistency proof between the trees of first and second leaves. */
zg_err zg_audit_consistency_proof(zg_audit *a, uint64_t first,
    uint64_t second, uint8_t first_root[32], uint8_t second_root[32],
    uint8_t (*proof)[32], size_t *proof_len, zg_errmsg *em);

/* Destroys the personal-data key of user_id. Idempotent. */
zg_err zg_audit_erase_user(zg_audit *a, const char *user_id);

/* Keyed hash of an identifier for the search index. */
zg_err zg_audit_index_hash(zg_keyring *kr, const char *value, uint8_t out[32]);

/*
 * Encodes ev canonically into out, encrypting the personal fields under the
 * user's current key (created on first use; st stores the key generation).
 * With kr NULL or sealed, personal fields are left out.
 */
zg_err zg_audit_encode(zg_keyring *kr, zg_store *st, const zg_audit_event *ev,
    zg_buf *out);

/*
 * Returns the id of user_id's current personal-data key,
 * "audit_user:<32 hex>:<generation>". Erasure destroys that key and moves
 * the user to the next generation, so later events get a new key and
 * earlier ones stay unreadable.
 */
zg_err zg_audit_user_key_id(zg_keyring *kr, zg_store *st, const char *user_id,
    char out[ZG_ID_MAX], char meta_key[ZG_ID_MAX], uint32_t *generation);

/* Records a user's new key generation (stored under meta_key) in the cache
 * zg_audit_user_key_id reads first; erasure calls it after storing. */
void zg_audit_note_generation(const char *meta_key, uint32_t generation);

/*
 * Decodes canonical bytes into the readable JSON form. With kr unsealed,
 * decrypts the personal fields when the user's key still exists; the
 * "personalData" member is "available", "erased", "sealed" or "none".
 * ZG_ERR_INTEGRITY if the bytes are not a valid encoding.
 */
zg_err zg_audit_decode(zg_keyring *kr, const uint8_t *bytes, size_t len,
    json_t **out);

/*
 * Checks that bytes are a valid format-1 encoding without building the
 * JSON or allocating: the field layout, the UTF-8 of every str field, the
 * success flag, and the lengths and NUL bytes the decoded fields allow.
 * It accepts the bytes that zg_audit_decode decodes, except that it never
 * fails for lack of memory. The personal ciphertext is not opened.
 * Returns ZG_OK or ZG_ERR_INTEGRITY.
 */
__attribute__((warn_unused_result))
zg_err zg_audit_validate(const uint8_t *bytes, size_t len);

/* Message that a tree head signature covers; out needs 73 bytes. */
#define ZG_TREE_HEAD_MSG_LEN 73
void zg_tree_head_message(uint64_t tree_size, const uint8_t root[32],
    int64_t timestamp, uint8_t out[ZG_TREE_HEAD_MSG_LEN]);

/* Key id of an Ed25519 public key: "ed25519:" and 16 hex digits. */
void zg_audit_key_id(const uint8_t pub[ZG_ED25519_PUB_LEN],
    char out[ZG_AUDIT_KEY_ID_MAX]);

#endif
