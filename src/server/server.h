/*
 * The HTTP API server.
 *
 * Every route is one row of the route table (routes.c): method, path
 * pattern, handler, the resource and action that authorization checks, and
 * the audit event type it records. The pipeline in dispatch.c runs, for
 * every request and in this order: authentication, the access decision,
 * the handler, then the audit record, so that no handler can skip a step.
 *
 * Threads: libmicrohttpd's epoll thread pool, one thread per core, parses
 * requests. A route that writes is suspended and handed to a worker pool,
 * because its handler blocks on fsync. A read-only route (ZG_ROUTE_READ)
 * runs on the HTTP thread and is suspended only while its audit event is
 * pending; the audit writer resumes it. The
 * response is queued when libmicrohttpd calls back after the resume,
 * which also keeps HTTP keep-alive working (libmicrohttpd 0.9.75 closes
 * the connection when a response is queued on the first call).
 */
#ifndef ZG_SERVER_SERVER_H
#define ZG_SERVER_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "authn/authn.h"
#include "authz/model.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/errmsg.h"
#include "store/store.h"
#include "vault/vault.h"

struct zg_audit;
struct zg_server;

/* Everything a handler can reach. */
typedef struct zg_app {
	zg_config cfg;
	zg_store *st;
	zg_keyring *kr;
	zg_vault vault;
	struct zg_audit *audit;     /* NULL until the audit log is wired */
	struct zg_authz *authz;
	struct zg_authenticator *authn;
	struct zg_keys *keys;
	struct zg_txgate *txgate;   /* transaction policies and stops */
	struct zg_server *server;
} zg_app;

#define ZG_MAX_PARAMS 2
#define ZG_PARAM_MAX 160
#define ZG_MAX_QUERY 16

typedef struct zg_request zg_request;
typedef zg_err (*zg_handler_fn)(zg_app *app, zg_request *req);

enum {
	ZG_ROUTE_NO_AUTH = 1 << 0,   /* no token needed */
	ZG_ROUTE_INLINE = 1 << 1,    /* cheap: run on the HTTP thread */
	ZG_ROUTE_SENSITIVE = 1 << 2, /* the response carries a secret */
	ZG_ROUTE_AUDIT_SELF = 1 << 3, /* the handler records its own event */
	ZG_ROUTE_READ = 1 << 4,  /* handler only reads: runs on the HTTP thread
	                            and waits for its audit event without a
	                            worker */
	ZG_ROUTE_AUDIT_DENIALS = 1 << 6, /* a successful request is audited
	                                    only if the handler set
	                                    req->answered_denied */
	ZG_ROUTE_TX_ATTRS = 1 << 5, /* the body is a transaction: its value,
	                               chainId and to are request.amount,
	                               request.chainId and request.to for
	                               conditions */
};

/*
 * Reads the owner of the object a request names into owner (ZG_USER_MAX
 * bytes); "" when it has none. ZG_ERR_NOT_FOUND when there is no object,
 * which the handler then reports.
 */
typedef zg_err (*zg_owner_fn)(zg_app *app, zg_request *req, char *owner);

typedef struct zg_route {
	const char *method;
	const char *pattern;      /* "/v1/credentials/{id}/value" */
	zg_handler_fn handler;
	/* The permission engine's resource path, with {name} standing for
	 * the path parameter of that name, and the action. NULL only for
	 * the routes that need no principal: health and unseal. */
	const char *resource;
	const char *action;
	zg_owner_fn owner;        /* NULL: the resource has no owner */
	const char *event_type;   /* audit eventType; NULL records nothing */
	unsigned flags;
	const char *query_params; /* comma-separated accepted names, or NULL */
	const char *summary;
} zg_route;

struct zg_query_arg {
	char *key;
	char *value;
};

/* One HTTP request on its way through the pipeline. */
struct zg_request {
	zg_app *app;
	const zg_route *route;
	char method[16];
	char path[512];
	char params[ZG_MAX_PARAMS][ZG_PARAM_MAX];
	size_t nparams;
	bool param_too_long;       /* a parameter was cut to ZG_PARAM_MAX - 1 */
	struct zg_query_arg query[ZG_MAX_QUERY];
	size_t nquery;
	bool query_overflow;
	char *authorization;       /* wiped when the request ends */
	char user_agent[256];
	char client_ip[64];
	char request_id[24];
	zg_buf body;
	zg_principal principal;
	bool authenticated;
	/* The route's resource path with this request's parameters, and
	 * the owner of the object it names ("" when none). */
	char resource_path[ZG_AUTHZ_PATTERN_MAX + 1];
	char resource_owner[ZG_USER_MAX];
	int64_t retry_after_s;     /* for a 429, the Retry-After header */
	/* The object the route's owner reader loaded, handed to the handler
	 * so that it is not read twice; freed with the request if unused. */
	void *object;
	void (*object_free)(void *object);
	bool answered_denied;      /* a decision query answered "denied":
	                              audited, and as a failure; see
	                              ZG_ROUTE_AUDIT_DENIALS */
	int64_t start_us;

	/* Response, set by the handler or by the pipeline. */
	int status;
	json_t *response;
	zg_errmsg em;
	zg_err result;

	/* Audit details a handler may add: the object acted on and extra
	 * metadata (a JSON object owned by the request). */
	char audit_resource[256];
	json_t *audit_metadata;

	/* Called when an asynchronous audit append has finished. */
	void (*on_complete)(zg_request *req);
};

/* The route table, terminated by a row whose method is NULL. */
extern const zg_route zg_routes[];

/*
 * Writes the route's resource path for req into out, with each {name}
 * replaced by the path parameter of that name. ZG_ERR_INVALID (in
 * req->em) for a parameter that is not one plain path segment.
 */
zg_err zg_route_resource(zg_request *req, char *out, size_t outsz);

/* Parses a positive decimal query parameter in [1, max]. */
zg_err zg_req_query_uint(zg_request *req, const char *key, uint64_t max,
    uint64_t *out, bool *present);

/*
 * Asks whether the request's principal may perform action on resource,
 * an object owned by owner (NULL: no owner). For handlers that act on
 * more than the route's resource. Fails only when no decision can be made.
 */
zg_err zg_req_may(zg_app *app, zg_request *req, const char *resource,
    const char *action, const char *owner, bool *allowed);

/*
 * Finds the route for method and path; captures {params} into req. Returns
 * ZG_ERR_NOT_FOUND if no pattern matches the path, ZG_ERR_METHOD if one
 * does but not for this method (allow then lists the methods).
 */
zg_err zg_route_match(const char *method, const char *path, zg_request *req,
    char *allow, size_t allowsz);

/* Returns the query argument key, or NULL. */
const char *zg_req_query(const zg_request *req, const char *key);

/* Sets a 2xx response; takes ownership of body. */
void zg_req_reply(zg_request *req, int status, json_t *body);

/* Runs authentication, authorization, the handler and the audit record. */
void zg_dispatch(zg_request *req);

/*
 * Runs the pipeline like zg_dispatch but hands the audit event to the log
 * without waiting for it. Returns true when the event is pending: then
 * on_complete runs on the audit writer's thread once the response is
 * final (replaced by 503 audit_unavailable if the event failed). Returns
 * false when the response is already final.
 */
bool zg_dispatch_start(zg_request *req, void (*on_complete)(zg_request *req));

/* Builds {"error":{"code","message"}} for err and the message in em. */
json_t *zg_error_body(zg_err err, const zg_errmsg *em);

/*
 * Checks that the listen address of cfg can be bound right now, so that a
 * port in use is reported before anything else starts.
 */
zg_err zg_server_probe_listen(const zg_config *cfg, zg_errmsg *em);

/* Starts listening per app->cfg. */
zg_err zg_server_start(zg_app *app, struct zg_server **out, zg_errmsg *em);

/* Stops accepting, waits for in-flight requests, then stops. */
void zg_server_stop(struct zg_server *srv);

/* Handlers (handlers_*.c). */
zg_err zg_h_health(zg_app *app, zg_request *req);
zg_err zg_h_seal_status(zg_app *app, zg_request *req);
zg_err zg_h_unseal(zg_app *app, zg_request *req);
zg_err zg_h_rotate_root(zg_app *app, zg_request *req);
zg_err zg_h_rotate_kek(zg_app *app, zg_request *req);
zg_err zg_h_cred_create(zg_app *app, zg_request *req);
zg_err zg_h_cred_list(zg_app *app, zg_request *req);
zg_err zg_h_cred_get(zg_app *app, zg_request *req);
zg_err zg_h_cred_value(zg_app *app, zg_request *req);
zg_err zg_h_cred_rotate(zg_app *app, zg_request *req);
zg_err zg_h_cred_revoke(zg_app *app, zg_request *req);
zg_err zg_h_cred_lease(zg_app *app, zg_request *req);
zg_err zg_h_lease_redeem(zg_app *app, zg_request *req);
zg_err zg_h_token_create(zg_app *app, zg_request *req);
zg_err zg_h_token_revoke(zg_app *app, zg_request *req);
zg_err zg_h_audit_public_key(zg_app *app, zg_request *req);
zg_err zg_h_audit_tree_head(zg_app *app, zg_request *req);
zg_err zg_h_audit_inclusion(zg_app *app, zg_request *req);
zg_err zg_h_audit_consistency(zg_app *app, zg_request *req);
zg_err zg_h_audit_events(zg_app *app, zg_request *req);
zg_err zg_h_audit_record(zg_app *app, zg_request *req);
zg_err zg_h_user_erase(zg_app *app, zg_request *req);
zg_err zg_h_authz_check(zg_app *app, zg_request *req);
zg_err zg_h_role_list(zg_app *app, zg_request *req);
zg_err zg_h_role_create(zg_app *app, zg_request *req);
zg_err zg_h_role_get(zg_app *app, zg_request *req);
zg_err zg_h_role_update(zg_app *app, zg_request *req);
zg_err zg_h_role_delete(zg_app *app, zg_request *req);
zg_err zg_h_grant_list(zg_app *app, zg_request *req);
zg_err zg_h_grant_create(zg_app *app, zg_request *req);
zg_err zg_h_grant_delete(zg_app *app, zg_request *req);
zg_err zg_h_sa_list(zg_app *app, zg_request *req);
zg_err zg_h_sa_create(zg_app *app, zg_request *req);
zg_err zg_h_sa_get(zg_app *app, zg_request *req);
zg_err zg_h_sa_delete(zg_app *app, zg_request *req);
zg_err zg_h_sa_token(zg_app *app, zg_request *req);

/* Service account ids are this prefix and the account's name. */
#define ZG_SERVICE_ACCOUNT_PREFIX "sa:"

/*
 * Creates a token for user_id of subject_type from body's "ttlSeconds"
 * and "scope" and replies 201 with it; shared by the token routes.
 */
zg_err zg_token_reply(zg_app *app, zg_request *req, const char *user_id,
    const char *subject_type, json_t *body);

zg_err zg_h_key_create(zg_app *app, zg_request *req);
zg_err zg_h_key_import(zg_app *app, zg_request *req);
zg_err zg_h_key_list(zg_app *app, zg_request *req);
zg_err zg_h_key_get(zg_app *app, zg_request *req);
zg_err zg_h_key_disable(zg_app *app, zg_request *req);
zg_err zg_h_key_enable(zg_app *app, zg_request *req);
zg_err zg_h_key_rotate(zg_app *app, zg_request *req);
zg_err zg_h_key_version_destroy(zg_app *app, zg_request *req);
zg_err zg_h_key_version_disable(zg_app *app, zg_request *req);
zg_err zg_h_key_version_enable(zg_app *app, zg_request *req);
zg_err zg_h_sign_transaction(zg_app *app, zg_request *req);
zg_err zg_h_sign_message(zg_app *app, zg_request *req);
zg_err zg_h_sign_typed_data(zg_app *app, zg_request *req);
zg_err zg_h_sign_digest(zg_app *app, zg_request *req);

zg_err zg_h_policy_list(zg_app *app, zg_request *req);
zg_err zg_h_policy_put(zg_app *app, zg_request *req);
zg_err zg_h_policy_get(zg_app *app, zg_request *req);
zg_err zg_h_policy_delete(zg_app *app, zg_request *req);
zg_err zg_h_policy_evaluate(zg_app *app, zg_request *req);
zg_err zg_h_limits(zg_app *app, zg_request *req);
zg_err zg_h_stop_create(zg_app *app, zg_request *req);
zg_err zg_h_stop_list(zg_app *app, zg_request *req);
zg_err zg_h_stop_lift(zg_app *app, zg_request *req);
zg_err zg_h_simulate(zg_app *app, zg_request *req);
zg_err zg_h_txreq_get(zg_app *app, zg_request *req);
zg_err zg_h_txreq_approve(zg_app *app, zg_request *req);
zg_err zg_h_txreq_reject(zg_app *app, zg_request *req);
zg_err zg_h_txreq_release(zg_app *app, zg_request *req);
zg_err zg_owner_txreq(zg_app *app, zg_request *req, char *owner);

/* The kind of content a signing request signs. */
typedef enum zg_sign_kind {
	ZG_SIGN_TRANSACTION = 0,
	ZG_SIGN_MESSAGE,
	ZG_SIGN_TYPED_DATA,
	ZG_SIGN_DIGEST,
} zg_sign_kind;

/* "transaction", "personal_message", "typed_data" or "raw_digest". */
const char *zg_sign_kind_name(zg_sign_kind kind);

/* The roles a user holds: granted (unexpired), held by configuration
 * and asserted by the identity provider (from p, which may be NULL),
 * with every role they inherit. The caller frees *roles. */
zg_err zg_user_roles(zg_app *app, const char *user_id, const zg_principal *p,
    json_t **roles, zg_errmsg *em);

struct zg_txreq;
/* A signature to make through the signing gate (handlers_sign.c). */
typedef struct zg_sign_job {
	zg_sign_kind kind;
	const json_t *payload;       /* the signing body without workflowId */
	const char *workflow_id;     /* NULL when the request has none */
	const char *initiator_id;
	const char *initiator_type;  /* "user" or "service_account" */
	const json_t *roles;         /* the initiator's roles, a JSON array */
	/* An approved request being completed by req's principal, or NULL
	 * for a direct request. */
	struct zg_txreq *approved;
} zg_sign_job;

struct zg_key;
/*
 * Runs job through the emergency stops, the transaction policies,
 * simulation and the spending limits, and signs with key if all allow.
 * Replies 200 with the signature (and "requestId" when limits were
 * reserved), or 202 with a pending request when approvals are needed.
 * For an approved request, replies 200 with the signed request, or
 * takes the approver's approval back when signing is refused.
 */
zg_err zg_sign_run(zg_app *app, zg_request *req, const struct zg_key *key,
    const zg_sign_job *job);

/* Loads the key the path names into key (freed with zg_key_free). */
zg_err zg_req_key(zg_app *app, zg_request *req, struct zg_key *key);

/*
 * Hands the object an owner reader loaded for this request to the
 * caller: returns it (the caller frees it as its type requires) and
 * clears it from the request, or returns NULL when there is none.
 */
void *zg_req_take_object(zg_request *req);

/* Owner readers for the route table. */
zg_err zg_owner_credential(zg_app *app, zg_request *req, char *owner);
zg_err zg_owner_token(zg_app *app, zg_request *req, char *owner);
zg_err zg_owner_path_user(zg_app *app, zg_request *req, char *owner);
zg_err zg_owner_key(zg_app *app, zg_request *req, char *owner);

/* Parses the body as a JSON object with only the allowed keys. An empty
 * body counts as {} when empty_ok is true. */
zg_err zg_req_json(zg_request *req, const char *const *allowed, bool empty_ok,
    json_t **out);

#endif
