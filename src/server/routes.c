/*
 * The route table: every HTTP route of the API, in one place.
 *
 * Every route records an audit event of its event type, except
 * /v1/health: load balancers poll it, it reads nothing and it names no
 * principal, so recording it would only bury real events.
 */
#include <stdio.h>
#include <string.h>

#include "server/server.h"

#define R(m, p, h, res, act, ev, fl, q, sum)                                 \
	{m, p, h, res, act, ev, fl, q, sum}

const zg_route zg_routes[] = {
	R("GET", "/v1/health", zg_h_health, "health", "read", NULL,
	    ZG_ROUTE_NO_AUTH | ZG_ROUTE_INLINE, NULL, "Liveness check"),
	R("GET", "/v1/sys/seal-status", zg_h_seal_status, "sys", "read",
	    "data_access", ZG_ROUTE_NO_AUTH | ZG_ROUTE_READ, NULL,
	    "Whether the vault is sealed"),
	R("POST", "/v1/sys/unseal", zg_h_unseal, "sys", "unseal",
	    "configuration_change", ZG_ROUTE_NO_AUTH, NULL,
	    "Unseal with the passphrase"),
	R("POST", "/v1/sys/rotate-root", zg_h_rotate_root, "sys", "rotate_root",
	    "configuration_change", 0, NULL,
	    "Rewrap every key under a new root key"),
	R("POST", "/v1/sys/rotate-kek", zg_h_rotate_kek, "sys", "rotate_kek",
	    "configuration_change", 0, NULL, "Add a key-encryption key version"),
	R("POST", "/v1/credentials", zg_h_cred_create, "credential", "create",
	    "credential_access", 0, NULL, "Store a credential"),
	R("GET", "/v1/credentials", zg_h_cred_list, "credential", "list",
	    "data_access", ZG_ROUTE_READ, "limit,after",
	    "List credentials (metadata only)"),
	R("GET", "/v1/credentials/{id}", zg_h_cred_get, "credential", "read",
	    "data_access", ZG_ROUTE_READ, NULL, "Read a credential's metadata"),
	R("GET", "/v1/credentials/{id}/value", zg_h_cred_value, "credential",
	    "read_value", "credential_access",
	    ZG_ROUTE_SENSITIVE | ZG_ROUTE_READ, "version",
	    "Read a credential's value"),
	R("POST", "/v1/credentials/{id}/rotate", zg_h_cred_rotate, "credential",
	    "rotate", "credential_access", 0, NULL, "Add a new version"),
	R("POST", "/v1/credentials/{id}/revoke", zg_h_cred_revoke, "credential",
	    "revoke", "credential_access", 0, NULL,
	    "Destroy every key of a credential"),
	R("POST", "/v1/credentials/{id}/lease", zg_h_cred_lease, "credential",
	    "lease", "credential_access", ZG_ROUTE_SENSITIVE,
	    NULL, "Create a one-time lease"),
	R("POST", "/v1/leases/redeem", zg_h_lease_redeem, "lease", "redeem",
	    "credential_access", ZG_ROUTE_SENSITIVE, NULL, "Redeem a lease once"),
	R("POST", "/v1/tokens", zg_h_token_create, "token", "create",
	    "authentication", ZG_ROUTE_SENSITIVE, NULL, "Create an API token"),
	R("DELETE", "/v1/tokens/{id}", zg_h_token_revoke, "token", "revoke",
	    "authentication", 0, NULL, "Revoke an API token"),
	R("GET", "/v1/audit/public-key", zg_h_audit_public_key, "audit",
	    "read_key", "data_access", ZG_ROUTE_NO_AUTH,
	    NULL, "The Ed25519 key that signs tree heads"),
	R("GET", "/v1/audit/tree-head", zg_h_audit_tree_head, "audit",
	    "read_head", "data_access", 0, NULL, "The latest signed tree head"),
	R("GET", "/v1/audit/proofs/inclusion", zg_h_audit_inclusion, "audit",
	    "prove_inclusion", "data_access", ZG_ROUTE_READ, "index,treeSize",
	    "Prove an event is in the log"),
	R("GET", "/v1/audit/proofs/consistency", zg_h_audit_consistency,
	    "audit", "prove_consistency", "data_access", ZG_ROUTE_READ,
	    "first,second", "Prove a tree extends an older one"),
	R("GET", "/v1/audit/events", zg_h_audit_events, "audit", "read_events",
	    "data_access", ZG_ROUTE_READ, "from,limit,userId,resource",
	    "Read events in log order"),
	R("POST", "/v1/audit/events", zg_h_audit_record, "audit", "record",
	    "workflow_execution", ZG_ROUTE_AUDIT_SELF,
	    NULL, "Record an event of the platform's own"),
	R("POST", "/v1/users/{userId}/erase", zg_h_user_erase, "user", "erase",
	    "configuration_change", 0, NULL,
	    "Destroy a user's audit personal data"),
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
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
