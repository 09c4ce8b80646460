/* The parsed form of a policy, shared by the files of src/txpolicy. */
#ifndef ZG_TXPOLICY_INTERNAL_H
#define ZG_TXPOLICY_INTERNAL_H

#include "txpolicy/txpolicy.h"

struct zg_tz;

typedef struct txp_strings {
	char **v;
	size_t n;
} txp_strings;

/* A "keys" selector: key ids and label patterns. */
typedef struct txp_keys {
	bool present;
	txp_strings ids;
	txp_strings labels;
} txp_keys;

enum txp_dest_mode {
	TXP_DEST_ANY = 0,
	TXP_DEST_ALLOW,
	TXP_DEST_DENY,
};

typedef struct txp_rule {
	char name[ZG_TXPOLICY_RULE_NAME_MAX];
	bool has_initiators;
	txp_strings users;
	txp_strings roles;
	txp_strings service_accounts;
	txp_keys keys;
	zg_u256 *chain_ids;
	size_t nchain_ids;           /* 0: any chain */
	enum txp_dest_mode dest_mode;
	uint8_t (*dests)[20];        /* sorted, for bsearch */
	size_t ndests;
	uint32_t kinds;              /* bit (1 << zg_txkind); 0: any kind */
	uint32_t *selectors;         /* big-endian 4 bytes as a number */
	size_t nselectors;           /* 0: any selector */
	bool has_min, has_max;
	zg_u256 min, max;
	bool has_asset;
	bool asset_native;
	uint8_t asset[20];
	zg_txaction action;
	zg_txapproval approval;
	bool simulate;
	bool allow_without_simulation;
} txp_rule;

typedef struct txp_fee_cap {
	zg_u256 chain_id;
	bool has_max_fee;
	zg_u256 max_fee_per_gas;
	bool has_max_gas;
	zg_u256 max_gas;
} txp_fee_cap;

enum txp_scope {
	TXP_SCOPE_KEY = 0,
	TXP_SCOPE_INITIATOR,
	TXP_SCOPE_DESTINATION,
	TXP_SCOPE_WORKFLOW,
	TXP_SCOPE__COUNT
};

enum txp_window {
	TXP_WINDOW_DAY = 0,
	TXP_WINDOW_MONTH,
	TXP_WINDOW_ROLLING,
	TXP_WINDOW__COUNT
};

typedef struct txp_limit {
	char name[ZG_TXPOLICY_NAME_MAX];
	enum txp_scope scope;
	bool asset_native;
	uint8_t asset[20];
	enum txp_window window;
	char *zone_name;             /* calendar windows */
	const struct zg_tz *zone;    /* shared, never freed */
	int64_t seconds;             /* rolling windows */
	zg_u256 max;
} txp_limit;

struct zg_txpolicy {
	char name[ZG_TXPOLICY_NAME_MAX];
	txp_keys keys;
	txp_rule *rules;
	size_t nrules;
	txp_fee_cap *fee_caps;
	size_t nfee_caps;
	bool has_ceiling;
	zg_u256 ceiling;
	txp_limit *limits;
	size_t nlimits;
};

/* JSON names of scopes and windows, indexed by the enums. */
extern const char *const txp_scope_names[TXP_SCOPE__COUNT];
extern const char *const txp_window_names[TXP_WINDOW__COUNT];

/* Room for a field path in messages, such as "rules[12].match.kinds[3]". */
#define TXP_PATH_MAX 96

/*
 * Field readers shared by policy.c and rule.c. Each fails with
 * ZG_ERR_INVALID and a message naming path (and quoting the value, unless
 * value is NULL); txp_bad builds that message.
 */
zg_err txp_bad(zg_errmsg *em, const char *path, const char *what,
    const char *value);
/* Writes path.key (or key alone at the top level) to out. */
void txp_sub(char out[TXP_PATH_MAX], const char *path, const char *key);
/* Writes path[i] to out. */
void txp_index(char out[TXP_PATH_MAX], const char *path, size_t i);
/* Rejects a non-object and any key not in the NULL-terminated allowed. */
zg_err txp_only_keys(const json_t *obj, const char *path,
    const char *const *allowed, zg_errmsg *em);
/* A string of 1 to max-1 bytes without NUL, borrowed from v. */
zg_err txp_get_string(const json_t *v, const char *path, size_t max,
    const char **out, zg_errmsg *em);
/* A JSON string of decimal digits up to 2^256-1. */
zg_err txp_get_amount(const json_t *v, const char *path, zg_u256 *out,
    zg_errmsg *em);
/* An address, with the EIP-55 checksum checked when the case is mixed. */
zg_err txp_get_address(const json_t *v, const char *path, uint8_t out[20],
    zg_errmsg *em);
/* "native" or an ERC-20 contract address. */
zg_err txp_get_asset(const json_t *v, const char *path, bool *native,
    uint8_t out[20], zg_errmsg *em);
/* A non-empty array of strings of 1 to max-1 bytes, copied into out,
 * which the caller frees with txp_strings_free even on failure. */
zg_err txp_get_strings(const json_t *v, const char *path, size_t max,
    txp_strings *out, zg_errmsg *em);
void txp_strings_free(txp_strings *s);
/* A "keys" object {"ids", "labels"}. */
zg_err txp_get_keys(const json_t *v, const char *path, txp_keys *out,
    zg_errmsg *em);

/*
 * Parses rule v at path into r (rule.c). Warnings go to the JSON array
 * warnings. The caller frees r with txp_rule_free even on failure.
 */
zg_err txp_parse_rule(const json_t *v, const char *path, txp_rule *r,
    const zg_txpolicy_checks *checks, json_t *warnings, zg_errmsg *em);
void txp_rule_free(txp_rule *r);

/* Returns a / b rounded toward minus infinity (b > 0). */
int64_t txp_floor_div(int64_t a, int64_t b);

/*
 * Sets *start and *end (Unix seconds) to the bounds of the calendar day
 * or month of limit l (not rolling) that contains now_s (window.c).
 */
void txp_calendar_bounds(const txp_limit *l, int64_t now_s, int64_t *start,
    int64_t *end);

/* True if label matches pattern, where "*" matches any run of bytes. */
bool txp_label_match(const char *pattern, const char *label);

/* True if the selector lists key id or a pattern matching label. */
bool txp_keys_match(const txp_keys *k, const char *key_id, const char *label);

/* Writes "0x" and 40 lower-case hex digits with a NUL. */
void txp_address_format(const uint8_t addr[20], char out[43]);

/* ---- spending limit usage records (limits_usage.c, limits_cache.c) ---- */

/* One live reservation in a rolling window's usage record. */
typedef struct txl_entry {
	char id[ZG_TXLIMIT_RESERVATION_MAX];
	int64_t at_us;
	zg_u256 amount;
} txl_entry;

/* A usage record as parsed, and as it will be written. */
typedef struct txl_usage {
	char id[ZG_OBJ_ID_MAX];
	int64_t rev;                 /* ZG_REV_NEW when not stored */
	int64_t created_at;
	zg_u256 used;
	bool rolling;
	txl_entry *entries;          /* owned; rolling windows only */
	size_t nentries;
	size_t cap;
	bool cached;                 /* copied from the cache, not read */
	int64_t window_start_us;
	int64_t window_end_us;       /* calendar windows */
	bool starts_window;          /* reserve: stored for the first time */
} txl_usage;

/* Clears u to an unstored, unused record named id. */
void txl_usage_init(txl_usage *u, const char *id, bool rolling);
void txl_usage_clear(txl_usage *u);
/* Appends a rolling entry; ZG_ERR_NOMEM when out of memory. */
zg_err txl_usage_add_entry(txl_usage *u, const char *id, int64_t at_us,
    const zg_u256 *amount);
/* Drops rolling entries at or before cutoff_us and sets used to the sum
 * of the rest; ZG_ERR_INTEGRITY if that sum overflows. */
zg_err txl_usage_prune(txl_usage *u, int64_t cutoff_us);
/* Parses a stored row into u, which txl_usage_init has named. */
zg_err txl_usage_parse(const zg_obj_row *row, txl_usage *u, zg_errmsg *em);
/* Reads u->id from the store; a missing record reads as unused. */
zg_err txl_usage_fetch(zg_store *st, txl_usage *u, zg_errmsg *em);
/* Fills row (zeroed by the caller) for a put of u at now_us. */
zg_err txl_usage_to_row(const txl_usage *u, int64_t now_us, zg_obj_row *row);

/*
 * The in-process cache of usage records, keyed by store handle and usage
 * id. A cached record is the state of one stored revision, so a write
 * built from it fails with ZG_ERR_CONFLICT when another handle or process
 * has written since. get copies the record into u (named by
 * txl_usage_init) and returns ZG_ERR_NOT_FOUND on a miss. put keeps a
 * cached record whose revision is newer than u's. Every function is
 * thread-safe, and a put that runs out of memory caches nothing.
 */
zg_err txl_cache_get(const zg_store *st, txl_usage *u);
void txl_cache_put(const zg_store *st, const txl_usage *u);
void txl_cache_drop(const zg_store *st, const char *id);

#endif
