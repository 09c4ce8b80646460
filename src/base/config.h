/*
 * Daemon settings: defaults, an INI file, then command-line flags, each
 * overriding the one before. Example file:
 *
 *   [server]
 *   listen = 127.0.0.1:8420
 *   data = /var/lib/zguard
 *   max_body_bytes = 1048576
 *   tls_cert = /etc/zguard/cert.pem
 *   tls_key = /etc/zguard/key.pem
 *
 *   [vault]
 *   seal = keyfile            ; or passphrase
 *   max_value_bytes = 65536
 *
 *   [log]
 *   level = info
 *
 *   [audit]
 *   tree_head_interval_seconds = 10
 *   max_metadata_bytes = 16384
 *   syslog = tcp://127.0.0.1:6514
 *   json_file = /var/log/zguard/audit.jsonl
 *   critical_events = credentials_revoke,tokens_revoke,sys_rotate_root,...
 *
 *   [rpc]                     ; JSON-RPC endpoints for simulation
 *   1 = https://mainnet.example/v1
 *   1337 = http://127.0.0.1:8545
 *   connect_timeout_ms = 3000
 *   timeout_ms = 10000
 *
 *   [txpolicy]
 *   require_policy = false
 *   rejections_to_reject = 1
 *   max_approval_seconds = 2592000
 */
#ifndef ZG_BASE_CONFIG_H
#define ZG_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/errmsg.h"
#include "base/log.h"

#define ZG_RPC_ENDPOINTS_MAX 32

enum zg_seal_kind {
	ZG_SEAL_KEYFILE = 0,
	ZG_SEAL_PASSPHRASE,
};

typedef struct zg_config {
	char listen_host[256];   /* numeric address, e.g. 127.0.0.1 or ::1 */
	unsigned listen_port;
	char data_dir[1024];
	size_t max_body_bytes;
	size_t max_value_bytes;
	unsigned http_threads;   /* 0: one per core */
	unsigned workers;        /* 0: eight per core, at least 64 */
	char tls_cert[1024];     /* empty: plain HTTP */
	char tls_key[1024];
	enum zg_seal_kind seal;
	enum zg_log_level log_level;

	unsigned audit_tree_head_interval_s;
	size_t audit_max_metadata_bytes;
	char audit_syslog[256];          /* tcp://host:port or udp://host:port */
	char audit_json_file[1024];
	char audit_critical_events[1024]; /* comma-separated list */
	unsigned audit_queue_size;

	/* [oidc]: bearer JWTs; off while issuer is empty. */
	char oidc_issuer[512];
	char oidc_audience[512];
	char oidc_jwks_file[1024];
	char oidc_jwks_url[1024];
	char oidc_algorithms[128];       /* comma-separated allow-list */
	unsigned oidc_clock_skew_s;
	char oidc_user_claim[64];
	char oidc_roles_claim[64];
	char oidc_user_prefix[32];       /* keeps IdP subjects apart from
	                                    local users; default "oidc:" */

	/* [magic]: Magic DID tokens; off while client_id is empty. */
	char magic_client_id[256];
	unsigned magic_clock_skew_s;

	/* [lockout]: failed authentications per principal and source IP. */
	unsigned lockout_threshold;
	unsigned lockout_window_s;
	unsigned lockout_base_backoff_s;
	unsigned lockout_max_backoff_s;

	/* [authz] */
	char authz_default_roles[512];   /* held by every principal */

	/* [pkcs11]: the HSM key backend; off while module is empty. */
	char pkcs11_module[1024];
	char pkcs11_token_label[64];
	char pkcs11_pin_file[1024];
	char pkcs11_pin_env[128];

	/* [rpc]: one JSON-RPC endpoint per chain id, for simulation. */
	struct zg_rpc_endpoint {
		char chain_id[80];       /* decimal, without leading zeros */
		char url[512];           /* http:// or https:// */
	} rpc_endpoints[ZG_RPC_ENDPOINTS_MAX];
	unsigned nrpc_endpoints;
	unsigned rpc_connect_timeout_ms; /* 0: the client's default */
	unsigned rpc_timeout_ms;         /* all requests of one simulation */

	/* [txpolicy] */
	bool txpolicy_require_policy;    /* a key no policy covers cannot sign */
	unsigned txpolicy_rejections;    /* rejections that reject a request */
	unsigned txpolicy_max_approval_s; /* caps a rule's expiresInSeconds */
} zg_config;

/* Fills cfg with the defaults. */
void zg_config_defaults(zg_config *cfg);

/* Reads an INI file over cfg. Unknown keys and bad values are errors. */
zg_err zg_config_load_file(zg_config *cfg, const char *path, zg_errmsg *em);

/* Sets listen_host and listen_port from "HOST:PORT" or "[V6]:PORT". */
zg_err zg_config_set_listen(zg_config *cfg, const char *value, zg_errmsg *em);

/* Returns the [rpc] endpoint URL of a decimal chain id, or NULL. */
const char *zg_config_rpc_endpoint(const zg_config *cfg, const char *chain_id);

/* Checks cross-field rules, such as a TLS certificate without a key. */
zg_err zg_config_validate(const zg_config *cfg, zg_errmsg *em);

#endif
