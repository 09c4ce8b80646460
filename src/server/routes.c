/*
 * The route table: every HTTP route of the API, in one place.
 *
 * Every route records an audit event of its event type, except
 * /v1/health: load balancers poll it, it reads nothing and it names no
 * principal, so recording it would only bury real events. POST
 * /v1/authz/check records its denials and failures but not the decisions
 * that allowed: the platform calls it on every step of a workflow, and
 * its own audit events record what was then done.
 */
#include <stdio.h>
#include <string.h>

#include "server/server.h"

/*
 * resource is the path the permission engine checks, with {name} replaced by
 * the request's path parameter of that name; owner, when set, reads the
 * owner of the object the path names, for conditions such as
 * "resource.ownerId == subject.id".
 */
#define R(m, p, h, res, act, own, ev, fl, q, sum)                            \
	{m, p, h, res, act, own, ev, fl, q, sum}

#define CRED_OWNER zg_owner_credential
#define TOKEN_OWNER zg_owner_token
#define PATH_USER zg_owner_path_user
#define KEY_OWNER zg_owner_key
#define TXREQ_OWNER zg_owner_txreq

const zg_route zg_routes[] = {
	R("GET", "/v1/health", zg_h_health, NULL, NULL, NULL, NULL,
	    ZG_ROUTE_NO_AUTH | ZG_ROUTE_INLINE, NULL, "Liveness check"),
	R("GET", "/v1/sys/seal-status", zg_h_seal_status, "sys/seal", "read",
	    NULL, "data_access", ZG_ROUTE_NO_AUTH | ZG_ROUTE_READ, NULL,
	    "Whether the vault is sealed"),
	R("POST", "/v1/sys/unseal", zg_h_unseal, NULL, NULL, NULL,
	    "configuration_change", ZG_ROUTE_NO_AUTH, NULL,
	    "Unseal with the passphrase"),
	R("POST", "/v1/sys/rotate-root", zg_h_rotate_root, "sys/keys",
	    "rotate_root", NULL, "configuration_change", 0, NULL,
	    "Rewrap every key under a new root key"),
	R("POST", "/v1/sys/rotate-kek", zg_h_rotate_kek, "sys/keys",
	    "rotate_kek", NULL, "configuration_change", 0, NULL,
	    "Add a key-encryption key version"),
	R("POST", "/v1/credentials", zg_h_cred_create, "credentials", "create",
	    NULL, "credential_access", 0, NULL, "Store a credential"),
	R("GET", "/v1/credentials", zg_h_cred_list, "credentials", "list",
	    NULL, "data_access", ZG_ROUTE_READ, "limit,after",
	    "List credentials (metadata only)"),
	R("GET", "/v1/credentials/{id}", zg_h_cred_get, "credentials/{id}",
	    "read", CRED_OWNER, "data_access", ZG_ROUTE_READ, NULL,
	    "Read a credential's metadata"),
	R("GET", "/v1/credentials/{id}/value", zg_h_cred_value,
	    "credentials/{id}", "read_value", CRED_OWNER, "credential_access",
	    ZG_ROUTE_SENSITIVE | ZG_ROUTE_READ, "version",
	    "Read a credential's value"),
	R("POST", "/v1/credentials/{id}/rotate", zg_h_cred_rotate,
	    "credentials/{id}", "rotate", CRED_OWNER, "credential_access", 0,
	    NULL, "Add a new version"),
	R("POST", "/v1/credentials/{id}/revoke", zg_h_cred_revoke,
	    "credentials/{id}", "revoke", CRED_OWNER, "credential_access", 0,
	    NULL, "Destroy every key of a credential"),
	R("POST", "/v1/credentials/{id}/lease", zg_h_cred_lease,
	    "credentials/{id}", "lease", CRED_OWNER, "credential_access",
	    ZG_ROUTE_SENSITIVE, NULL, "Create a one-time lease"),
	R("POST", "/v1/leases/redeem", zg_h_lease_redeem, "leases", "redeem",
	    NULL, "credential_access", ZG_ROUTE_SENSITIVE, NULL,
	    "Redeem a lease once"),
	R("POST", "/v1/tokens", zg_h_token_create, "tokens", "create", NULL,
	    "authentication", ZG_ROUTE_SENSITIVE, NULL, "Create an API token"),
	R("DELETE", "/v1/tokens/{id}", zg_h_token_revoke, "tokens/{id}",
	    "revoke", TOKEN_OWNER, "authentication", 0, NULL,
	    "Revoke an API token"),
	R("GET", "/v1/audit/public-key", zg_h_audit_public_key,
	    "audit/public-key", "read", NULL, "data_access", ZG_ROUTE_NO_AUTH,
	    NULL, "The Ed25519 key that signs tree heads"),
	R("GET", "/v1/audit/tree-head", zg_h_audit_tree_head,
	    "audit/tree-head", "read", NULL, "data_access", 0, NULL,
	    "The latest signed tree head"),
	R("GET", "/v1/audit/proofs/inclusion", zg_h_audit_inclusion,
	    "audit/proofs", "prove_inclusion", NULL, "data_access",
	    ZG_ROUTE_READ, "index,treeSize", "Prove an event is in the log"),
	R("GET", "/v1/audit/proofs/consistency", zg_h_audit_consistency,
	    "audit/proofs", "prove_consistency", NULL, "data_access",
	    ZG_ROUTE_READ, "first,second",
	    "Prove a tree extends an older one"),
	R("GET", "/v1/audit/events", zg_h_audit_events, "audit/events", "read",
	    NULL, "data_access", ZG_ROUTE_READ, "from,limit,userId,resource",
	    "Read events in log order"),
	R("POST", "/v1/audit/events", zg_h_audit_record, "audit/events",
	    "record", NULL, "workflow_execution", ZG_ROUTE_AUDIT_SELF, NULL,
	    "Record an event of the platform's own"),
	R("POST", "/v1/users/{userId}/erase", zg_h_user_erase,
	    "users/{userId}", "erase", PATH_USER, "configuration_change", 0,
	    NULL, "Destroy a user's audit personal data"),
	R("POST", "/v1/authz/check", zg_h_authz_check, "authz/decisions",
	    "check", NULL, "authorization",
	    ZG_ROUTE_READ | ZG_ROUTE_AUDIT_DENIALS, NULL,
	    "Decide whether a user may act on a resource"),
	R("GET", "/v1/roles", zg_h_role_list, "roles", "list", NULL,
	    "data_access", ZG_ROUTE_READ, NULL, "List roles"),
	R("POST", "/v1/roles", zg_h_role_create, "roles", "create", NULL,
	    "configuration_change", 0, NULL, "Create a role"),
	R("GET", "/v1/roles/{name}", zg_h_role_get, "roles/{name}", "read",
	    NULL, "data_access", ZG_ROUTE_READ, NULL, "Read a role"),
	R("PUT", "/v1/roles/{name}", zg_h_role_update, "roles/{name}",
	    "update", NULL, "configuration_change", 0, NULL,
	    "Replace a role's description, permissions and parents"),
	R("DELETE", "/v1/roles/{name}", zg_h_role_delete, "roles/{name}",
	    "delete", NULL, "configuration_change", 0, NULL,
	    "Delete a role that is not built in"),
	R("GET", "/v1/users/{userId}/roles", zg_h_grant_list,
	    "users/{userId}/roles", "list", PATH_USER, "data_access",
	    ZG_ROUTE_READ, NULL, "List the roles granted to a user"),
	R("POST", "/v1/users/{userId}/roles", zg_h_grant_create,
	    "users/{userId}/roles", "grant", PATH_USER, "configuration_change",
	    0, NULL, "Grant a role to a user"),
	R("DELETE", "/v1/users/{userId}/roles/{roleId}", zg_h_grant_delete,
	    "users/{userId}/roles/{roleId}", "revoke", PATH_USER,
	    "configuration_change", 0, NULL, "Revoke a role from a user"),
	R("GET", "/v1/service-accounts", zg_h_sa_list, "service-accounts",
	    "list", NULL, "data_access", ZG_ROUTE_READ, NULL,
	    "List service accounts"),
	R("POST", "/v1/service-accounts", zg_h_sa_create, "service-accounts",
	    "create", NULL, "configuration_change", 0, NULL,
	    "Create a service account"),
	R("GET", "/v1/service-accounts/{id}", zg_h_sa_get,
	    "service-accounts/{id}", "read", NULL, "data_access",
	    ZG_ROUTE_READ, NULL, "Read a service account"),
	R("DELETE", "/v1/service-accounts/{id}", zg_h_sa_delete,
	    "service-accounts/{id}", "delete", NULL, "configuration_change", 0,
	    NULL, "Delete a service account and revoke its roles"),
	R("POST", "/v1/service-accounts/{id}/tokens", zg_h_sa_token,
	    "service-accounts/{id}/tokens", "create", NULL, "authentication",
	    ZG_ROUTE_SENSITIVE, NULL, "Create a token for a service account"),
	R("POST", "/v1/keys", zg_h_key_create, "keys", "create", NULL,
	    "configuration_change", 0, NULL, "Generate a signing key"),
	R("POST", "/v1/keys/import", zg_h_key_import, "keys", "import", NULL,
	    "configuration_change", 0, NULL, "Import a private key (software)"),
	R("GET", "/v1/keys", zg_h_key_list, "keys", "list", NULL,
	    "data_access", ZG_ROUTE_READ, "limit,after", "List signing keys"),
	R("GET", "/v1/keys/{id}", zg_h_key_get, "keys/{id}", "read", KEY_OWNER,
	    "data_access", ZG_ROUTE_READ, NULL, "Read a signing key"),
	R("POST", "/v1/keys/{id}/disable", zg_h_key_disable, "keys/{id}",
	    "disable", KEY_OWNER, "configuration_change", 0, NULL,
	    "Switch signing off"),
	R("POST", "/v1/keys/{id}/enable", zg_h_key_enable, "keys/{id}",
	    "enable", KEY_OWNER, "configuration_change", 0, NULL,
	    "Switch signing back on"),
	R("POST", "/v1/keys/{id}/rotate", zg_h_key_rotate, "keys/{id}",
	    "rotate", KEY_OWNER, "configuration_change", 0, NULL,
	    "Add a key version that signs from now on"),
	R("POST", "/v1/keys/{id}/versions/{version}/disable",
	    zg_h_key_version_disable, "keys/{id}/versions/{version}", "disable",
	    KEY_OWNER, "configuration_change", 0, NULL, "Disable one key version"),
	R("POST", "/v1/keys/{id}/versions/{version}/enable",
	    zg_h_key_version_enable, "keys/{id}/versions/{version}", "enable",
	    KEY_OWNER, "configuration_change", 0, NULL, "Enable one key version"),
	R("POST", "/v1/keys/{id}/versions/{version}/destroy",
	    zg_h_key_version_destroy, "keys/{id}/versions/{version}", "destroy",
	    KEY_OWNER, "configuration_change", 0, NULL,
	    "Destroy one version's private key"),
	R("POST", "/v1/keys/{id}/sign-transaction", zg_h_sign_transaction,
	    "keys/{id}", "sign_transaction", KEY_OWNER, "key_usage",
	    ZG_ROUTE_TX_ATTRS, NULL,
	    "Sign an Ethereum transaction"),
	R("POST", "/v1/keys/{id}/sign-message", zg_h_sign_message, "keys/{id}",
	    "sign_message", KEY_OWNER, "key_usage", 0, NULL,
	    "Sign an EIP-191 personal message"),
	R("POST", "/v1/keys/{id}/sign-typed-data", zg_h_sign_typed_data,
	    "keys/{id}", "sign_typed_data", KEY_OWNER, "key_usage", 0, NULL,
	    "Sign EIP-712 typed data"),
	R("POST", "/v1/keys/{id}/sign", zg_h_sign_digest, "keys/{id}",
	    "sign_digest", KEY_OWNER, "key_usage", 0, NULL,
	    "Sign a raw 32-byte digest (allowRawDigest keys only)"),
	R("POST", "/v1/keys/{id}/simulate-transaction", zg_h_simulate,
	    "keys/{id}", "simulate_transaction", KEY_OWNER, "transaction",
	    ZG_ROUTE_TX_ATTRS, NULL,
	    "Simulate a transaction against the chain's node without signing"),
	R("GET", "/v1/policies/transactions", zg_h_policy_list,
	    "policies/transactions", "list", NULL, "data_access",
	    ZG_ROUTE_READ, NULL, "List transaction policies"),
	R("POST", "/v1/policies/transactions/evaluate", zg_h_policy_evaluate,
	    "policies/transactions", "evaluate", NULL, "data_access",
	    ZG_ROUTE_READ, NULL,
	    "Decide a proposed transaction or message without signing"),
	R("PUT", "/v1/policies/transactions/{name}", zg_h_policy_put,
	    "policies/transactions/{name}", "update", NULL,
	    "configuration_change", 0, NULL,
	    "Create or replace a transaction policy"),
	R("GET", "/v1/policies/transactions/{name}", zg_h_policy_get,
	    "policies/transactions/{name}", "read", NULL, "data_access",
	    ZG_ROUTE_READ, NULL, "Read a transaction policy"),
	R("DELETE", "/v1/policies/transactions/{name}", zg_h_policy_delete,
	    "policies/transactions/{name}", "delete", NULL,
	    "configuration_change", 0, NULL, "Delete a transaction policy"),
	R("GET", "/v1/limits", zg_h_limits, "limits", "read", NULL,
	    "data_access", ZG_ROUTE_READ, NULL,
	    "Use, remaining amount and reset time of every spending limit"),
	R("POST", "/v1/emergency-stop", zg_h_stop_create, "emergency-stops",
	    "create", NULL, "configuration_change", 0, NULL,
	    "Freeze signing for a key, a policy's keys or every key"),
	R("GET", "/v1/emergency-stop", zg_h_stop_list, "emergency-stops",
	    "list", NULL, "data_access", ZG_ROUTE_READ, NULL,
	    "List active emergency stops"),
	R("DELETE", "/v1/emergency-stop/{id}", zg_h_stop_lift,
	    "emergency-stops/{id}", "lift", NULL, "configuration_change", 0,
	    "reason", "Lift an emergency stop, with a reason"),
	R("GET", "/v1/tx-requests/{id}", zg_h_txreq_get, "tx-requests/{id}",
	    "read", TXREQ_OWNER, "data_access", 0, NULL,
	    "Read a transaction request and, once signed, its signature"),
	R("POST", "/v1/tx-requests/{id}/approve", zg_h_txreq_approve,
	    "tx-requests/{id}", "approve", TXREQ_OWNER, "transaction", 0, NULL,
	    "Approve a pending request; the last approval signs it"),
	R("POST", "/v1/tx-requests/{id}/reject", zg_h_txreq_reject,
	    "tx-requests/{id}", "reject", TXREQ_OWNER, "transaction", 0, NULL,
	    "Reject a pending request"),
	R("POST", "/v1/tx-requests/{id}/release", zg_h_txreq_release,
	    "tx-requests/{id}", "release", TXREQ_OWNER, "transaction", 0, NULL,
	    "Give back the spending limits of a signed, unsent transaction"),
	{NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
};

/*
 * Matches path against pattern segment by segment; a "{name}" segment
 * captures one non-empty path segment. Returns true on a match.
 */
static bool
pattern_match(const char *pattern, const char *path, zg_request *req)
{
	const char *p = pattern;
	const char *s = path;
	size_t nparams = 0;

	while (*p != '\0' && *s != '\0') {
		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		const char *pend = strchr(p, '/');
		const char *send = strchr(s, '/');
		size_t plen = pend ? (size_t)(pend - p) : strlen(p);
		size_t slen = send ? (size_t)(send - s) : strlen(s);
		if (plen > 0 && p[0] == '{') {
			if (slen == 0 || nparams == ZG_MAX_PARAMS)
				return false;
			if (req != NULL) {
				size_t n = slen < ZG_PARAM_MAX - 1 ? slen :
				    ZG_PARAM_MAX - 1;
				memcpy(req->params[nparams], s, n);
				req->params[nparams][n] = '\0';
				if (n < slen)
					req->param_too_long = true;
			}
			nparams++;
		} else if (plen != slen || memcmp(p, s, plen) != 0) {
			return false;
		}
		p += plen;
		s += slen;
	}
	if (*p != '\0' || *s != '\0')
		return false;
	if (req != NULL)
		req->nparams = nparams;
	return true;
}

zg_err
zg_route_match(const char *method, const char *path, zg_request *req,
    char *allow, size_t allowsz)
{
	bool path_matched = false;
	size_t alen = 0;

	if (allowsz > 0)
		allow[0] = '\0';
	for (const zg_route *r = zg_routes; r->method != NULL; r++) {
		if (!pattern_match(r->pattern, path, NULL))
			continue;
		if (strcmp(r->method, method) == 0) {
			pattern_match(r->pattern, path, req);
			req->route = r;
			return ZG_OK;
		}
		path_matched = true;
		int n = snprintf(allow + alen, allowsz - alen, "%s%s",
		    alen ? ", " : "", r->method);
		if (n > 0 && (size_t)n < allowsz - alen)
			alen += (size_t)n;
	}
	return path_matched ? ZG_ERR_METHOD : ZG_ERR_NOT_FOUND;
}

/* True if seg is one path segment the permission engine reads as plain
 * text: 1 to ZG_PARAM_MAX - 1 bytes of letters, digits and ._:@+- */
static bool
segment_valid(const char *seg)
{
	size_t n = strlen(seg);
	if (n == 0 || n >= ZG_PARAM_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = seg[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == ':' || c == '@' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

/* Finds the value of path parameter {name} (name_len bytes) of req. */
static const char *
param_value(const zg_request *req, const char *name, size_t name_len)
{
	size_t idx = 0;
	for (const char *p = req->route->pattern; (p = strchr(p, '{')) != NULL;
	    p++) {
		const char *close = strchr(p, '}');
		if (close == NULL)
			break;
		if ((size_t)(close - p - 1) == name_len &&
		    strncmp(p + 1, name, name_len) == 0)
			return idx < req->nparams ? req->params[idx] : NULL;
		idx++;
	}
	return NULL;
}

zg_err
zg_route_resource(zg_request *req, char *out, size_t outsz)
{
	const char *t = req->route->resource;
	size_t len = 0;

	if (req->param_too_long)
		return zg_fail(&req->em, ZG_ERR_INVALID, "a path segment is "
		    "longer than %d bytes", ZG_PARAM_MAX - 1);
	while (*t != '\0') {
		const char *piece = t;
		size_t n = 1;
		if (*t == '{') {
			const char *close = strchr(t, '}');
			if (close == NULL)
				return ZG_ERR_INTERNAL;
			piece = param_value(req, t + 1, (size_t)(close - t - 1));
			if (piece == NULL)
				return ZG_ERR_INTERNAL;
			/* A parameter must be one plain segment, so that "*"
			 * or "a/b" in a URL cannot widen what is checked. */
			if (!segment_valid(piece)) {
				char q[ZG_QUOTE_MAX];
				zg_quote_value(piece, q, sizeof(q));
				return zg_fail(&req->em, ZG_ERR_INVALID,
				    "invalid path segment \"%s\": use letters, "
				    "digits and ._:@+-", q);
			}
			n = strlen(piece);
			t = close + 1;
		} else {
			t++;
		}
		if (len + n >= outsz)
			return zg_fail(&req->em, ZG_ERR_INVALID,
			    "the request path is too long");
		memcpy(out + len, piece, n);
		len += n;
	}
	out[len] = '\0';
	return ZG_OK;
}
