/*
 * The signing gate: what runs before every signature the server makes.
 *
 * Order of the checks (zg_txgate_decide and its callers):
 *   1. emergency stops: a stop on the key, on a policy that covers the
 *      key, or on everything refuses at once;
 *   2. the policies that cover the key, each evaluated with
 *      zg_txpolicy_evaluate (fee caps, then its rules). One block among
 *      them blocks. Otherwise one require_approval requires approval, and
 *      the rule asking for the most approvals sets count, role and
 *      expiry. Otherwise the request is allowed;
 *   3. for transactions, simulation when a deciding rule requires it;
 *   4. the spending limits of every covering policy, reserved with
 *      zg_txgate_reserve. Reservations are atomic per policy; across
 *      policies they are made in name order and undone when one fails.
 *
 * No covering policy: the request is allowed and the server logs it,
 * unless require_policy is set, which blocks it. Allowing is the
 * default so that keys created before any policy keep signing, and a
 * deployment switches to deny-by-default with one setting.
 *
 * A raw 32-byte digest hides what is signed, so no rule can judge it: a
 * key covered by any policy never signs one.
 *
 * Processes sharing one store apply each other's changes at once. Every
 * write of a policy or stop adds one to ZG_TXGATE_COUNTER in the same
 * batch. The gate reads that counter on every signature and reloads its
 * cached policies and stops when the counter moved.
 */
#ifndef ZG_TXPOLICY_GATE_H
#define ZG_TXPOLICY_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/errmsg.h"
#include "store/store.h"
#include "txpolicy/txpolicy.h"

#define ZG_TXPOLICY_KIND "tx_policy"          /* id: the policy name */
#define ZG_TXSTOP_KIND "tx_emergency_stop"    /* id: the stop id */
#define ZG_TXREQ_KIND "tx_request"            /* id: the request id */
#define ZG_TXGATE_COUNTER "tx_gate_version"

#define ZG_TXSTOP_REASON_MAX 513              /* with the NUL */
#define ZG_TXSTOPS_MAX 10000
#define ZG_TXPOLICIES_MAX 1000

/* ---- emergency stops (stops.c) ---- */

typedef enum zg_txstop_scope {
	ZG_TXSTOP_KEY = 0,
	ZG_TXSTOP_POLICY,
	ZG_TXSTOP_ALL,
} zg_txstop_scope;

typedef struct zg_txstop {
	char id[ZG_ID_MAX];                 /* "stop_" and 24 hex digits */
	zg_txstop_scope scope;
	char target[ZG_OBJ_ID_MAX];         /* key id or policy; "" for all */
	char reason[ZG_TXSTOP_REASON_MAX];
	char created_by[ZG_USER_MAX];
	int64_t created_at;                 /* microseconds */
} zg_txstop;

/*
 * Parses a request body {"scope": {"type": "key", "keyId"} or
 * {"type": "policy", "policy"} or {"type": "all"}, "reason"}. The reason
 * is required, 1 to 512 bytes. Fills everything but id, created_by and
 * created_at. ZG_ERR_INVALID names the field.
 */
zg_err zg_txstop_from_json(const json_t *body, zg_txstop *out,
    zg_errmsg *em);

/* Returns the stop as {"id","scope","reason","createdBy","createdAt"}. */
json_t *zg_txstop_to_json(const zg_txstop *s);

/* Stores s with a new id (written into s->id) and bumps the counter. */
zg_err zg_txstops_add(zg_store *st, zg_txstop *s, zg_errmsg *em);

/*
 * Deletes stop id and bumps the counter, copying it into *lifted.
 * ZG_ERR_NOT_FOUND when no such stop is active.
 */
zg_err zg_txstops_lift(zg_store *st, const char *id, zg_txstop *lifted,
    zg_errmsg *em);

/* Lists the active stops in id order. The caller frees *out. */
zg_err zg_txstops_list(zg_store *st, zg_txstop **out, size_t *n,
    zg_errmsg *em);

/* True if stop s covers key_id, given the names of the policies that
 * cover the key. */
bool zg_txstop_covers(const zg_txstop *s, const char *key_id,
    const char *const *policies, size_t npolicies);

/* ---- the gate (gate.c) ---- */

typedef struct zg_txgate zg_txgate;

/* A read-only snapshot of every stored policy and stop, in name order,
 * shared between threads and released with zg_txgate_release. */
typedef struct zg_txsnapshot {
	zg_txpolicy **policies;
	size_t npolicies;
	zg_txstop *stops;
	size_t nstops;
	int64_t version;
} zg_txsnapshot;

zg_err zg_txgate_open(zg_store *st, zg_txgate **out, zg_errmsg *em);
void zg_txgate_close(zg_txgate *g);

/*
 * Returns the current snapshot, reloading it first when the store's
 * counter moved. Stored policies are parsed without the checks of
 * zg_txpolicy_checks, so that deleting a role later does not unload a
 * policy. A stored policy or stop that does not parse fails with
 * ZG_ERR_INTEGRITY, which stops all signing: a damaged policy must not
 * open a key. Release the snapshot with zg_txgate_release.
 */
zg_err zg_txgate_acquire(zg_txgate *g, const zg_txsnapshot **out,
    zg_errmsg *em);
void zg_txgate_release(zg_txgate *g, const zg_txsnapshot *snap);

/*
 * Stores policy p (its JSON form from zg_txpolicy_to_json) and bumps the
 * counter. *created is true when the name was new.
 */
zg_err zg_txgate_put_policy(zg_store *st, const zg_txpolicy *p,
    bool *created, zg_errmsg *em);

/* Deletes a policy and bumps the counter. ZG_ERR_NOT_FOUND if absent. */
zg_err zg_txgate_delete_policy(zg_store *st, const char *name,
    zg_errmsg *em);

/* The charges of one covering policy. */
typedef struct zg_txgate_charges {
	const zg_txpolicy *policy;   /* owned by the snapshot */
	zg_txlimit_charge *charges;  /* owned */
	size_t n;
} zg_txgate_charges;

/* The outcome of zg_txgate_decide. */
typedef struct zg_txverdict {
	zg_txaction action;
	bool no_policy;              /* no policy covers the key */
	bool stopped;                /* an emergency stop refused it */
	char stop_id[ZG_ID_MAX];
	char policy[ZG_TXPOLICY_NAME_MAX];  /* the deciding policy, or "" */
	char rule[ZG_TXPOLICY_RULE_NAME_MAX]; /* its rule, or "" */
	char reason[480];            /* one sentence for the API response */
	zg_txapproval approval;      /* for ZG_TXACTION_REQUIRE_APPROVAL */
	bool simulate;               /* a deciding rule requires simulation */
	bool allow_without_simulation; /* every such rule allows skipping it */
	zg_txgate_charges *charges;  /* owned; one per covering policy */
	size_t ncharges;
} zg_txverdict;

/*
 * Decides req against snap: stops first, then the covering policies.
 * When tx is not NULL, req->facts are classified again under each
 * policy, because each has its own unlimited approval ceiling.
 * raw_digest marks a request whose content is unknown. With
 * require_policy, a key no policy covers is blocked. Fails with
 * ZG_ERR_NOMEM, or ZG_ERR_INVALID for ERC-20 calldata that does not
 * decode. Free v with zg_txverdict_free, also on failure.
 */
zg_err zg_txgate_decide(const zg_txsnapshot *snap, const zg_txrequest *req,
    const zg_tx *tx, bool raw_digest, bool require_policy, zg_txverdict *v,
    zg_errmsg *em);

void zg_txverdict_free(zg_txverdict *v);

/* Checks every charge of v without writing (zg_txlimits_check). */
zg_err zg_txgate_check_limits(zg_store *st, const zg_txverdict *v,
    int64_t now_us, zg_errmsg *em);

/*
 * Reserves every charge of v under reservation ids "<request_id>.<n>",
 * appended to the JSON array ids. On failure the reservations made are
 * released and ids is left empty.
 */
zg_err zg_txgate_reserve(zg_store *st, const zg_txverdict *v,
    const char *request_id, int64_t now_us, json_t *ids, zg_errmsg *em);

/* Releases every reservation id of the JSON array ids; one already
 * released is skipped. */
zg_err zg_txgate_release_all(zg_store *st, const json_t *ids, int64_t now_us,
    zg_errmsg *em);

/* ---- transaction requests (requests.c) ----
 *
 * A stored signing request, of kind ZG_TXREQ_KIND, owned by its
 * requester. The body is JSON:
 *   {"id","status","keyId","kind","payload","workflowId","requester",
 *    "requesterType","requesterRoles","policy","rule","required",
 *    "fromRole","approvals":[{"userId","at"}],
 *    "rejections":[{"userId","at","reason"}],"createdAt","expiresAt",
 *    "reservations":[...],"result","updatedAt"}
 * where kind is transaction, personal_message or typed_data, payload is
 * the signing body without workflowId, result is the signing response
 * once signed, and times are RFC 3339. The states and the function
 * behind each transition are described at the top of requests.c. Every
 * write is checked against the revision read, so two approvers racing
 * cannot both complete one request.
 */

typedef enum zg_txreq_state {
	ZG_TXREQ_PENDING = 0,        /* "pending_approval" */
	ZG_TXREQ_APPROVED,           /* enough approvals; being signed */
	ZG_TXREQ_SIGNED,
	ZG_TXREQ_REJECTED,
	ZG_TXREQ_EXPIRED,
	ZG_TXREQ_RELEASED,
	ZG_TXREQ__COUNT
} zg_txreq_state;

const char *zg_txreq_state_name(zg_txreq_state s);

typedef struct zg_txreq {
	char id[ZG_ID_MAX];          /* "txr_" and 24 hex digits */
	zg_txreq_state state;
	json_t *body;                /* owned */
	int64_t rev;
} zg_txreq;

/* Writes a new request id into out. */
zg_err zg_txreq_new_id(char out[ZG_ID_MAX], zg_errmsg *em);

/*
 * Stores a new request from body (which must carry "id", "status",
 * "requester" and "createdAt"; the other fields are added empty when
 * absent) and fills r. body stays the caller's.
 */
zg_err zg_txreq_create(zg_store *st, const json_t *body, zg_txreq *r,
    zg_errmsg *em);

/* Loads request id. ZG_ERR_NOT_FOUND when there is none. */
zg_err zg_txreq_load(zg_store *st, const char *id, zg_txreq *r,
    zg_errmsg *em);

void zg_txreq_free(zg_txreq *r);

/* Moves a pending request whose expiresAt has passed to expired.
 * *expired is true when it did. */
zg_err zg_txreq_expire_if_due(zg_store *st, zg_txreq *r, int64_t now_us,
    bool *expired, zg_errmsg *em);

/*
 * Adds user's approval to a pending request; the request moves to
 * approved when the count is reached (*reached). Errors: the requester
 * approving (ZG_ERR_FORBIDDEN), a second approval by one user
 * (ZG_ERR_CONFLICT), a request that is not pending (ZG_ERR_CONFLICT, or
 * ZG_ERR_EXPIRED when it expired), a concurrent change (ZG_ERR_CONFLICT).
 */
zg_err zg_txreq_approve(zg_store *st, zg_txreq *r, const char *user,
    int64_t now_us, bool *reached, zg_errmsg *em);

/* Takes user's approval back and returns an approved request to pending,
 * when signing it was refused. */
zg_err zg_txreq_unapprove(zg_store *st, zg_txreq *r, const char *user,
    int64_t now_us, zg_errmsg *em);

/* Adds user's rejection; the request moves to rejected once it has
 * `needed` of them. Errors as zg_txreq_approve. */
zg_err zg_txreq_reject(zg_store *st, zg_txreq *r, const char *user,
    const char *reason, unsigned needed, int64_t now_us, zg_errmsg *em);

/* Moves an approved request to signed with result (the signing
 * response) and the reservation ids; both are copied. */
zg_err zg_txreq_mark_signed(zg_store *st, zg_txreq *r, const json_t *result,
    const json_t *reservations, int64_t now_us, zg_errmsg *em);

/*
 * Releases the reservations of a signed request and moves it to
 * released. ZG_ERR_GONE when it was released already, ZG_ERR_CONFLICT
 * in any other state.
 */
zg_err zg_txreq_release(zg_store *st, zg_txreq *r, int64_t now_us,
    zg_errmsg *em);

/* Returns the request as the API shows it: the body with "approvals"
 * as a count and the approvers under "approvedBy". */
json_t *zg_txreq_to_json(const zg_txreq *r);

#endif
