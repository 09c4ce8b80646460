/*
 * The data model of the permission engine: roles, their permissions and
 * conditions, and grants of roles to principals, parsed from and written
 * to JSON.
 *
 * Permission: {"resource", "actions", "conditions", "effect"}.
 * Role: {"name", "description", "permissions", "inherits"}.
 * Grant: {"userId", "roleId", "grantedBy", "grantedAt", "expiresAt"}.
 *
 * Resource patterns are '/'-separated segments of [A-Za-z0-9._:@+{}*-]:
 * "*" matches exactly one path segment, "**" any number of segments
 * including none, and a "*" inside a segment ("cred*") any run of
 * characters within that one segment. "**" must be a whole segment. A
 * pattern has at most ZG_AUTHZ_PATTERN_MAX bytes and no empty segment.
 * Braces are plain characters, so "credentials/{id}" matches only itself.
 *
 * Every parse function rejects unknown fields and fails with
 * ZG_ERR_INVALID and a message naming the field and the bad value.
 */
#ifndef ZG_AUTHZ_MODEL_H
#define ZG_AUTHZ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/errmsg.h"
#include "store/store.h"

#define ZG_AUTHZ_PATTERN_MAX 512
#define ZG_AUTHZ_ROLE_MAX 65        /* role names: 1 to 64 bytes, with the NUL */
#define ZG_AUTHZ_DESC_MAX 1024
#define ZG_AUTHZ_ACTION_MAX 64
#define ZG_AUTHZ_LIST_MAX 256       /* actions, conditions, inherits, CIDRs */
#define ZG_AUTHZ_PERMS_MAX 100000   /* permissions of one role */
#define ZG_AUTHZ_NUM_MAX 80         /* digits of a compared integer */

typedef enum zg_authz_effect {
	ZG_AUTHZ_ALLOW,
	ZG_AUTHZ_DENY,
} zg_authz_effect;

typedef enum zg_authz_cond_type {
	ZG_COND_TIME,
	ZG_COND_IP,
	ZG_COND_AUTH,
	ZG_COND_COMPARE,
} zg_authz_cond_type;

/* Attributes a comparison may name. */
typedef enum zg_authz_attr {
	ZG_ATTR_NONE,               /* the operand is a literal */
	ZG_ATTR_SUBJECT_ID,
	ZG_ATTR_SUBJECT_TYPE,
	ZG_ATTR_SUBJECT_AUTH_METHOD,
	ZG_ATTR_SUBJECT_MFA,        /* "true" or "false" */
	ZG_ATTR_RESOURCE_PATH,
	ZG_ATTR_RESOURCE_OWNER_ID,
	ZG_ATTR_RESOURCE_TYPE,
	ZG_ATTR_REQUEST_IP,
	ZG_ATTR_REQUEST_AMOUNT,
	ZG_ATTR_REQUEST_CHAIN_ID,
	ZG_ATTR_REQUEST_TO,
	ZG_ATTR_REQUEST_CONTEXT,    /* request.context.<name> */
} zg_authz_attr;

typedef enum zg_authz_op {
	ZG_OP_EQ, ZG_OP_NE, ZG_OP_LT, ZG_OP_LE, ZG_OP_GT, ZG_OP_GE,
} zg_authz_op;

/* Authentication methods, as bits of zg_authz_cond.auth.methods. */
enum {
	ZG_AUTH_TOKEN = 1 << 0,
	ZG_AUTH_OIDC = 1 << 1,
	ZG_AUTH_MAGIC = 1 << 2,
};

/* One side of a comparison: an attribute or a literal. */
typedef struct zg_authz_operand {
	zg_authz_attr attr;
	char *text;       /* owned: the context name or the literal */
	bool integer;     /* a literal given as a JSON integer */
} zg_authz_operand;

typedef struct zg_authz_cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
} zg_authz_cidr;

struct zg_tz;

typedef struct zg_authz_cond {
	zg_authz_cond_type type;
	union {
		struct {
			uint8_t days;       /* bit 0 is Sunday; 0 means every day */
			int from_min;       /* minutes after local midnight */
			int to_min;         /* exclusive; from > to spans midnight */
			bool has_hours;
			char *zone_name;    /* owned */
			const struct zg_tz *zone;  /* shared, never freed */
		} time;
		struct {
			zg_authz_cidr *cidrs;  /* owned */
			size_t n;
		} ip;
		struct {
			unsigned methods;   /* ZG_AUTH_* bits; 0 means any */
			bool mfa;
		} auth;
		struct {
			zg_authz_operand left, right;
			zg_authz_op op;
		} cmp;
	} u;
} zg_authz_cond;

typedef struct zg_authz_perm {
	char *resource;           /* owned pattern */
	char **actions;           /* owned; "*" for every action */
	size_t nactions;
	zg_authz_cond *conds;     /* owned; all must hold */
	size_t nconds;
	zg_authz_effect effect;
} zg_authz_perm;

typedef struct zg_authz_role {
	char name[ZG_AUTHZ_ROLE_MAX];
	char *description;        /* owned; "" when absent */
	zg_authz_perm *perms;     /* owned */
	size_t nperms;
	char **inherits;          /* owned role names */
	size_t ninherits;
} zg_authz_role;

typedef struct zg_authz_grant {
	char user_id[ZG_USER_MAX];
	char role_id[ZG_AUTHZ_ROLE_MAX];
	char granted_by[ZG_USER_MAX];
	int64_t granted_at;       /* microseconds since the epoch */
	int64_t expires_at;       /* 0: never expires */
} zg_authz_grant;

/*
 * Checks a resource pattern (allow_wildcards) or a concrete resource path
 * (no '*' at all). field names the value in the message.
 */
zg_err zg_authz_pattern_check(const char *pattern, bool allow_wildcards,
    const char *field, zg_errmsg *em);

/* True if path matches pattern; both must have passed the check above. */
bool zg_authz_pattern_match(const char *pattern, const char *path);

/* True if action is [a-z_]+ of at most 63 bytes, or "*" if allow_star. */
bool zg_authz_action_valid(const char *action, bool allow_star);

/* True if name is 1 to 64 bytes of [A-Za-z0-9._-]. */
bool zg_authz_role_name_valid(const char *name);

/* Parses a role object into *out, which the caller frees with
 * zg_authz_role_free. On failure *out is left cleared. */
zg_err zg_authz_role_from_json(const json_t *obj, zg_authz_role *out,
    zg_errmsg *em);

/* Returns a new JSON object for role, or NULL when out of memory. */
json_t *zg_authz_role_to_json(const zg_authz_role *role);

/* Parses one permission object into *out (freed by zg_authz_perm_free).
 * field is the path used in messages, such as "permissions[2]". */
zg_err zg_authz_perm_from_json(const json_t *obj, const char *field,
    zg_authz_perm *out, zg_errmsg *em);

/* Makes *dst a deep copy of src. */
zg_err zg_authz_role_copy(zg_authz_role *dst, const zg_authz_role *src);

void zg_authz_perm_free(zg_authz_perm *p);
void zg_authz_role_free(zg_authz_role *role);
void zg_authz_roles_free(zg_authz_role *roles, size_t n);

/*
 * Parses a grant. "grantedAt" and "expiresAt" are RFC 3339 strings;
 * "grantedAt" may be absent (0). The caller sets granted_by from the
 * authenticated principal, never from the body.
 */
zg_err zg_authz_grant_from_json(const json_t *obj, zg_authz_grant *out,
    zg_errmsg *em);
json_t *zg_authz_grant_to_json(const zg_authz_grant *g);

/* True if g has an expiry at or before now_us. */
bool zg_authz_grant_expired(const zg_authz_grant *g, int64_t now_us);

/*
 * Checks a whole set of roles as it would be after a write: every
 * inherited role exists, and inheritance has no cycle. A cycle fails with
 * ZG_ERR_INVALID and a message such as "inheritance cycle: a -> b -> a".
 */
zg_err zg_authz_roles_check(const zg_authz_role *roles, size_t n,
    zg_errmsg *em);

/*
 * Builds the built-in roles admin, workflow_manager and viewer into a new
 * array (*out, *n) for seeding the store; free with zg_authz_roles_free.
 * admin has resource "**" because "*" alone matches one segment only.
 */
zg_err zg_authz_builtin_roles(zg_authz_role **out, size_t *n);

/* True if name is a built-in role, which can be extended but not deleted. */
bool zg_authz_role_is_builtin(const char *name);

/*
 * Checks an update of a role: a built-in role must keep every one of its
 * built-in permissions (same resource, actions, effect, no conditions).
 * Returns ZG_ERR_FORBIDDEN naming the missing permission otherwise.
 */
zg_err zg_authz_role_check_update(const zg_authz_role *updated,
    zg_errmsg *em);

#endif
