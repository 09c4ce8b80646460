/*
 * Transaction policies and spending limits, checked before zguard signs a
 * transaction or a message with a key.
 *
 * A policy (JSON, every field optional unless marked):
 *
 *   {"name": "treasury",                        required, 1-48 [A-Za-z0-9._-]
 *    "keys": {"ids": ["key_..."], "labels": ["treasury-*"]},
 *    "rules": [{
 *      "name": "small-transfers",               required, unique, 1-64 bytes
 *      "match": {
 *        "initiators": {"users": [...], "roles": [...],
 *                       "serviceAccounts": [...]},
 *        "keys": {"ids": [...], "labels": [...]},
 *        "chainIds": ["1", "137"],
 *        "destinations": {"allow": ["0x..."]} or {"deny": ["0x..."]},
 *        "kinds": ["native_transfer", ...],     see zg_txkind_name
 *        "selectors": ["0xa9059cbb"],
 *        "value": {"min": "0", "max": "1000000000000000000"},
 *        "asset": "native" or "0x<ERC-20 contract>"},
 *      "action": "allow" | "block" | "require_approval",   required
 *      "approval": {"count": 2, "fromRole": "treasury_approver",
 *                   "expiresInSeconds": 3600},  required for
 *                                               require_approval, else absent
 *      "simulate": false, "allowWithoutSimulation": false}],
 *    "feeCaps": {"1": {"maxFeePerGas": "200000000000",
 *                      "maxGas": "1000000"}},
 *    "unlimitedApprovalCeiling": "1000000000000000000000000",
 *    "limits": [{"name": "daily-eth",           required, unique, 1-48
 *                                               [A-Za-z0-9._-]
 *      "scope": "key" | "initiator" | "destination" | "workflow", required
 *      "asset": "native" or "0x<ERC-20 contract>",           required
 *      "window": {"type": "day", "timezone": "Europe/Berlin"} or
 *                {"type": "month", "timezone": "UTC"} or
 *                {"type": "rolling", "seconds": 3600},        required
 *      "max": "5000000000000000000"}]}                        required
 *
 * Matching. An absent match field matches anything; a present list must
 * not be empty. Within "initiators" the request matches if its user id is
 * in "users", or its service account id is in "serviceAccounts", or one of
 * its roles is in "roles". Key labels are patterns where "*" matches any
 * run of characters. A rule matches when every present field matches.
 * Rules are tried in order and the first match decides; no match blocks.
 *
 * What a request is matched on (zg_txfacts, filled by classify.c):
 * - kind: native_transfer (a "to" and no data), erc20_transfer,
 *   erc20_approve, erc20_unlimited_approve (an approval of 2^256-1 or of
 *   more than unlimitedApprovalCeiling), erc20_transfer_from,
 *   contract_call (other data), contract_creation (no "to"),
 *   personal_message, typed_data.
 * - destination: the recipient of the value. It is "to" for native
 *   transfers and contract calls, and the token recipient (or the spender
 *   of an approval) for ERC-20 kinds. A rule with an allow-list matches
 *   only listed destinations. A rule with a deny-list matches only when
 *   neither the destination nor the called contract ("to") is listed, so
 *   "allow, deny: [x]" allows everything except x. Typed data uses the
 *   domain's verifyingContract, and a personal message has no
 *   destination.
 * - value and asset: the token amount and the token contract for ERC-20
 *   kinds, else the wei value and "native". Messages have neither, so a
 *   rule with "value" or "asset" never matches them.
 * - chain id: the transaction's, or the typed data domain's chainId.
 *
 * Amounts (value, limits, fee caps, the ceiling) are JSON strings of
 * decimal digits up to 2^256-1. JSON numbers, signs, fractions and hex are
 * rejected so that no amount passes through floating point. Chain ids are
 * decimal strings too.
 *
 * Fee caps are checked before the rules: a transaction whose fee cap
 * (gasPrice, or maxFeePerGas for type 2) or gas limit exceeds its chain's
 * cap is blocked.
 *
 * Limits. Every limit whose asset is the request's asset is charged the
 * request's amount. This includes ERC-20 approvals, because an allowance
 * lets the spender move that much, so an unlimited approval always
 * exceeds a limit on its token. A native limit is also charged the wei
 * value of token and contract calls. The scope value is the key id, the
 * initiator id, the destination address, or the workflow id. A request
 * without a workflow id is charged under the scope value "none", so that
 * leaving the id out does not escape the limit.
 *
 * Validation returns ZG_ERR_INVALID with a message that names the field
 * path, such as "rules[2].match.selectors[0]".
 */
#ifndef ZG_TXPOLICY_TXPOLICY_H
#define ZG_TXPOLICY_TXPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/errmsg.h"
#include "chain/chain.h"
#include "store/store.h"

#define ZG_TXPOLICY_NAME_MAX 49      /* policy and limit names, with the NUL */
#define ZG_TXPOLICY_RULE_NAME_MAX 65
#define ZG_TXPOLICY_ROLE_MAX 65
#define ZG_TXPOLICY_RULES_MAX 10000
#define ZG_TXPOLICY_LIMITS_MAX 256
#define ZG_TXPOLICY_LIST_MAX 10000   /* entries of one match list */
#define ZG_TXLIMIT_SCOPE_MAX 129     /* a scope value, with the NUL */
#define ZG_TXLIMIT_RESERVATION_MAX 65
/* Live reservations one rolling window keeps; see zg_txlimits_reserve. */
#define ZG_TXLIMIT_ROLLING_ENTRIES_MAX 1000

#define ZG_TXLIMIT_USAGE_KIND "tx_limit_usage"
#define ZG_TXLIMIT_RESERVATION_KIND "tx_limit_reservation"

typedef enum zg_txkind {
	ZG_TXKIND_NATIVE_TRANSFER = 0,
	ZG_TXKIND_ERC20_TRANSFER,
	ZG_TXKIND_ERC20_APPROVE,
	ZG_TXKIND_ERC20_UNLIMITED_APPROVE,
	ZG_TXKIND_ERC20_TRANSFER_FROM,
	ZG_TXKIND_CONTRACT_CALL,
	ZG_TXKIND_CONTRACT_CREATION,
	ZG_TXKIND_PERSONAL_MESSAGE,
	ZG_TXKIND_TYPED_DATA,
	ZG_TXKIND__COUNT
} zg_txkind;

/* Returns the JSON name of kind, such as "erc20_transfer". */
const char *zg_txkind_name(zg_txkind kind);

typedef enum zg_txaction {
	ZG_TXACTION_BLOCK = 0,
	ZG_TXACTION_ALLOW,
	ZG_TXACTION_REQUIRE_APPROVAL,
} zg_txaction;

/* Returns "block", "allow" or "require_approval". */
const char *zg_txaction_name(zg_txaction action);

typedef enum zg_txinitiator_type {
	ZG_TXINITIATOR_USER = 0,
	ZG_TXINITIATOR_SERVICE_ACCOUNT,
} zg_txinitiator_type;

/* The facts about one request that rules and limits read. */
typedef struct zg_txfacts {
	zg_txkind kind;
	bool has_chain_id;
	zg_u256 chain_id;
	bool has_destination;
	uint8_t destination[20];
	bool has_to;                 /* a transaction with a "to" */
	uint8_t to[20];
	bool has_selector;
	uint8_t selector[4];
	bool has_amount;             /* false for messages */
	zg_u256 amount;              /* wei, or token base units */
	bool asset_native;           /* with has_amount: native or token */
	uint8_t asset[20];           /* the token contract */
	zg_u256 native_value;        /* the transaction's wei value */
	bool has_fees;               /* transactions only */
	zg_u256 fee_cap;
	zg_u256 gas;
} zg_txfacts;

/*
 * Classifies a parsed transaction. policy supplies the unlimited approval
 * ceiling and may be NULL (then only 2^256-1 is unlimited). Calldata with
 * an ERC-20 selector but malformed arguments gets ZG_ERR_INVALID, so a
 * rule never judges calldata that was not read exactly.
 */
struct zg_txpolicy;
zg_err zg_txfacts_from_tx(const zg_tx *tx, const struct zg_txpolicy *policy,
    zg_txfacts *out, zg_errmsg *em);

/* Classifies an EIP-191 personal message. */
void zg_txfacts_from_message(zg_txfacts *out);

/*
 * Classifies EIP-712 typed data {"types","primaryType","domain","message"},
 * taking the chain id and verifyingContract from the domain when present.
 * A malformed domain chainId or verifyingContract gets ZG_ERR_INVALID.
 */
zg_err zg_txfacts_from_typed_data(const json_t *typed_data, zg_txfacts *out,
    zg_errmsg *em);

/* A signing request: the initiator, the key and the facts of what is to
 * be signed. */
typedef struct zg_txrequest {
	const char *key_id;
	const char *key_label;               /* "" when the key has none */
	const char *initiator_id;            /* user or service account id */
	zg_txinitiator_type initiator_type;
	const char *const *roles;            /* the initiator's roles */
	size_t nroles;
	const char *workflow_id;             /* NULL when the request has none */
	zg_txfacts facts;
} zg_txrequest;

/* An amount to reserve against one limit of the policy. */
typedef struct zg_txlimit_charge {
	size_t limit;                        /* index into the policy's limits */
	char scope_value[ZG_TXLIMIT_SCOPE_MAX];
	zg_u256 amount;
} zg_txlimit_charge;

typedef struct zg_txapproval {
	unsigned count;
	char from_role[ZG_TXPOLICY_ROLE_MAX];
	int64_t expires_in_s;
} zg_txapproval;

typedef struct zg_txdecision {
	zg_txaction action;
	const char *rule;            /* the matched rule's name, owned by the
	                              * policy; NULL when no rule matched */
	char reason[400];            /* one sentence for the API response */
	zg_txapproval approval;      /* set for ZG_TXACTION_REQUIRE_APPROVAL */
	bool simulate;
	bool allow_without_simulation;
	zg_txlimit_charge *charges;  /* owned; empty when the action blocks */
	size_t ncharges;
} zg_txdecision;

/* ---- policies (policy.c) ---- */

typedef struct zg_txpolicy zg_txpolicy;

/*
 * Checks that need state outside the policy, supplied by the caller. Any
 * function may be NULL, which skips its check.
 */
typedef struct zg_txpolicy_checks {
	void *ctx;
	/* True if the role exists; a role that does not is ZG_ERR_INVALID. */
	bool (*role_exists)(void *ctx, const char *role);
	/* True if chain_id has a JSON-RPC endpoint for simulation. */
	bool (*chain_has_rpc)(void *ctx, const zg_u256 *chain_id);
	/* Number of users holding role, or -1 when unknown. */
	long (*users_with_role)(void *ctx, const char *role);
} zg_txpolicy_checks;

/*
 * Parses and validates a policy object. On success *out is a new policy
 * that the caller frees with zg_txpolicy_free. When warnings is not NULL,
 * *warnings is a new JSON array of strings for the response, possibly
 * empty. It warns of an approval count above the number of users holding
 * the role, and of simulate:true on a rule that matches any chain. On
 * failure *out and *warnings are NULL, and em names the field.
 */
zg_err zg_txpolicy_from_json(const json_t *obj,
    const zg_txpolicy_checks *checks, zg_txpolicy **out, json_t **warnings,
    zg_errmsg *em);

/* Returns the policy as a new JSON object in the form parsed, with
 * addresses in lower case; NULL when out of memory. */
json_t *zg_txpolicy_to_json(const zg_txpolicy *p);

void zg_txpolicy_free(zg_txpolicy *p);

const char *zg_txpolicy_name(const zg_txpolicy *p);

/* True if the policy's "keys" selects the key (by id or label pattern).
 * A policy without "keys" applies to no key. */
bool zg_txpolicy_applies_to_key(const zg_txpolicy *p, const char *key_id,
    const char *key_label);

size_t zg_txpolicy_limit_count(const zg_txpolicy *p);
/* The name of limit i (i < zg_txpolicy_limit_count). */
const char *zg_txpolicy_limit_name(const zg_txpolicy *p, size_t i);

/* ---- evaluation (eval.c) ---- */

/*
 * Decides req under policy p: fee caps first, then the first matching
 * rule, else block. Unless the action is block, d->charges lists the
 * amount each applicable limit is to reserve; the caller reserves them
 * with zg_txlimits_reserve at signing time. The caller frees d with
 * zg_txdecision_free. Fails only with ZG_ERR_NOMEM.
 */
zg_err zg_txpolicy_evaluate(const zg_txpolicy *p, const zg_txrequest *req,
    zg_txdecision *d);

void zg_txdecision_free(zg_txdecision *d);

/* ---- spending limits (limits.c) ----
 *
 * Usage is stored as generic objects of kind ZG_TXLIMIT_USAGE_KIND with
 * id "<policy>/<limit>/<scope value>/<window>", where window is the
 * window's start in Unix seconds for calendar windows and "rolling" for
 * rolling ones. The body is {"used":"<decimal>"}, and a rolling window
 * adds "entries":[{"id","at","amount"}], one per live reservation with
 * its time in Unix seconds; entries older than the window are dropped on
 * every update, so rolling windows are exact.
 *
 * A reservation is an object of kind ZG_TXLIMIT_RESERVATION_KIND whose id
 * is the caller's (the signing request id), listing the usage ids and
 * amounts it added and whether it was released.
 *
 * Check and reserve read usage records through an in-process cache keyed
 * by the store handle and the usage id, so that a process reads from the
 * store only what it has not read or written itself. The store still
 * decides: a reservation writes with the revisions it read, and when
 * another process has written in between, the write fails, the cache
 * drops those records and the reservation retries with fresh reads. A
 * limit is never reported exceeded on cached data alone, because that
 * result is confirmed by a fresh read first.
 */

/*
 * Reserves every charge, or none: all usage objects and the reservation
 * are written in one obj_apply, each checked against the revision read,
 * and a conflict with another writer rereads and retries. A charge that
 * would take used above the limit's max fails with ZG_ERR_FORBIDDEN and
 * a message naming the limit, the scope value and the reset time. A
 * rolling window holding ZG_TXLIMIT_ROLLING_ENTRIES_MAX live entries
 * fails with ZG_ERR_RATE_LIMITED. An existing reservation_id is
 * ZG_ERR_CONFLICT; ZG_ERR_UNAVAILABLE if the retries run out.
 * reservation_id is 1-64 bytes of [A-Za-z0-9._:-].
 */
zg_err zg_txlimits_reserve(zg_store *st, const zg_txpolicy *p,
    const zg_txlimit_charge *charges, size_t n, const char *reservation_id,
    int64_t now_us, zg_errmsg *em);

/*
 * Checks the charges as zg_txlimits_reserve would, with the same errors,
 * but writes nothing, so that an evaluation without signing can report
 * the limits. The result can be stale by the time a reservation is made,
 * and a success can also miss what other processes reserved since this
 * one last read or wrote the records.
 */
zg_err zg_txlimits_check(zg_store *st, const zg_txpolicy *p,
    const zg_txlimit_charge *charges, size_t n, int64_t now_us,
    zg_errmsg *em);

/*
 * Gives a reservation's amounts back and marks it released, in one
 * obj_apply. ZG_ERR_NOT_FOUND for an unknown id, ZG_ERR_GONE if it was
 * released already. Amounts of a calendar window that has ended are not
 * given back, because that window's use no longer counts.
 */
zg_err zg_txlimits_release(zg_store *st, const char *reservation_id,
    int64_t now_us, zg_errmsg *em);

/*
 * Drops every usage record cached for st. Call it before closing st,
 * because a handle opened later may get the same address and must not
 * see another database's records.
 */
void zg_txlimits_forget_store(const zg_store *st);

/* The state of one limit for one scope value. */
typedef struct zg_txlimit_status {
	size_t limit;                /* index into the policy's limits */
	char scope_value[ZG_TXLIMIT_SCOPE_MAX]; /* "" when nothing is used */
	zg_u256 used;
	zg_u256 max;
	zg_u256 remaining;
	int64_t window_start_us;
	/* Calendar windows: the start of the next window. Rolling windows:
	 * when the oldest live reservation leaves the window, or now when
	 * none is live. */
	int64_t resets_at_us;
} zg_txlimit_status;

/*
 * Lists, for each limit of p, the status of every scope value with use
 * in the current window, or one entry with scope value "" and nothing
 * used when there is none. The caller frees *out.
 */
zg_err zg_txlimits_status(zg_store *st, const zg_txpolicy *p, int64_t now_us,
    zg_txlimit_status **out, size_t *n, zg_errmsg *em);

/* Returns the status entry as a JSON object, with the limit's name. */
json_t *zg_txlimit_status_to_json(const zg_txpolicy *p,
    const zg_txlimit_status *s);

#endif
