/*
 * Independent verification of the audit log, for `zguard audit verify`.
 *
 * zg_verify_store recomputes from the canonical bytes of the events every
 * leaf hash, every stored perfect-subtree hash and the root at every signed
 * tree head. It checks each head's Ed25519 signature with a public key the
 * caller supplies, and trusts nothing the store computed.
 *
 * zg_verify_export does the same offline for the JSON lines that
 * `zguard audit export` writes, against one exported tree head. It has no
 * stored nodes to compare, so it checks the leaf order, the readable fields
 * against the canonical bytes, and the root and signature of the head.
 *
 * Both stop at the first failure and describe it in a zg_verify_report.
 * They return ZG_OK whenever they reached a verdict, passed or failed, and
 * an error only when reading failed for another reason (a store or file
 * I/O error, an allocation).
 */
#ifndef ZG_AUDIT_VERIFY_H
#define ZG_AUDIT_VERIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "audit/audit.h"

/* The first thing that failed, or ZG_VERIFY_PASSED. */
enum zg_verify_failure {
	ZG_VERIFY_PASSED = 0,
	ZG_VERIFY_EVENT_MISSING,     /* no event at an index below the size */
	ZG_VERIFY_EVENT_EXTRA,       /* an event beyond the stored tree */
	ZG_VERIFY_EVENT_MALFORMED,   /* a row or export line cannot be read */
	ZG_VERIFY_EVENT_UNDECODABLE, /* not a valid format-1 encoding */
	ZG_VERIFY_EVENT_MODIFIED,    /* leaf hash of the bytes != stored leaf */
	ZG_VERIFY_EVENT_ORDER,       /* export: a leafIndex out of order */
	ZG_VERIFY_EVENT_FIELDS,      /* export: readable fields != bytes */
	ZG_VERIFY_NODE_MISSING,      /* a perfect-subtree hash is not stored */
	ZG_VERIFY_NODE_MODIFIED,     /* a stored subtree hash is wrong */
	ZG_VERIFY_HEAD_MALFORMED,    /* a tree head row cannot be read */
	ZG_VERIFY_HEAD_BEYOND,       /* a head larger than the log */
	ZG_VERIFY_HEAD_SIGNATURE,    /* a head's signature does not verify */
	ZG_VERIFY_HEAD_ROOT,         /* a head's root != the recomputed root */
	ZG_VERIFY_NO_HEAD,           /* events exist but no head signs them */
};

/* Events between two progress callbacks. */
#define ZG_VERIFY_PROGRESS_EVERY 100000

typedef struct zg_verify_report {
	enum zg_verify_failure failure;
	/* The failing event index, or the tree size of a failing head. */
	uint64_t index;
	char message[512];           /* the failure, in one line */

	uint64_t events;             /* events that passed every check */
	uint64_t log_size;           /* stored tree size, or events exported */
	uint64_t heads;              /* tree heads that passed */
	zg_tree_head_row last_head;  /* the latest head that passed */
} zg_verify_report;

/* Receives the number of events checked so far and the log's size. */
typedef void (*zg_verify_progress_fn)(void *ctx, uint64_t done,
    uint64_t total);

/*
 * Verifies the audit log in st against the public key pub, reading events
 * in index order in batches. pub may be NULL only for a log without tree
 * heads, which then fails with ZG_VERIFY_NO_HEAD. progress, if not NULL,
 * is called every ZG_VERIFY_PROGRESS_EVERY events. Returns ZG_OK with a
 * verdict in *report, or the store's error when it cannot be read for a
 * reason other than a malformed row.
 */
zg_err zg_verify_store(zg_store *st, const uint8_t *pub,
    zg_verify_progress_fn progress, void *ctx, zg_verify_report *report);

/*
 * Verifies the export lines read from events against head and pub. name
 * labels the stream in messages. Returns ZG_OK with a verdict in *report,
 * ZG_ERR_IO when reading events fails, or ZG_ERR_NOMEM.
 */
zg_err zg_verify_export(FILE *events, const char *name,
    const zg_tree_head_row *head, const uint8_t pub[ZG_ED25519_PUB_LEN],
    zg_verify_report *report);

/*
 * Checks a tree head against the root recomputed from the events: first
 * its signature under pub, then its root. Records a failure in report and
 * returns false, or counts the head as passed and returns true. pub NULL
 * fails the signature check.
 */
bool zg_verify_head(const zg_tree_head_row *head, const uint8_t root[32],
    const uint8_t *pub, zg_verify_report *report);

/* Records the first failure in report; later calls change nothing. */
void zg_verify_fail(zg_verify_report *report, enum zg_verify_failure failure,
    uint64_t index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Parses a public key: 64 hex digits, or the JSON of GET
 * /v1/audit/public-key or of an exported tree head (its "publicKey"
 * member). Surrounding whitespace is ignored. ZG_ERR_INVALID otherwise.
 */
zg_err zg_verify_parse_public_key(const char *text, size_t len,
    uint8_t pub[ZG_ED25519_PUB_LEN]);

/*
 * Parses an exported tree head (the JSON of zg_verify_head_json, or of GET
 * /v1/audit/tree-head) into *out, and sets *have_pub and pub from its
 * "publicKey" member when present. Returns ZG_ERR_INVALID, with a message
 * in em, for a missing or malformed member.
 */
zg_err zg_verify_parse_head(const json_t *obj, zg_tree_head_row *out,
    uint8_t pub[ZG_ED25519_PUB_LEN], bool *have_pub, zg_errmsg *em);

/* Builds the export JSON of a tree head; pub may be NULL. NULL: no memory. */
json_t *zg_verify_head_json(const zg_tree_head_row *head, const uint8_t *pub);

/*
 * Builds one export line's object: leafIndex, leafHash, canonical (Base64)
 * and the readable event from zg_audit_decode with kr (which may be NULL).
 * An undecodable event gets {"error": "undecodable event"}. NULL: no memory.
 */
json_t *zg_verify_event_json(zg_keyring *kr, const zg_audit_row *row);

#endif
