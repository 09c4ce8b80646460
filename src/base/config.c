#include "base/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

void
zg_config_defaults(zg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
	cfg->listen_port = 8420;
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "./zguard-data");
	cfg->max_body_bytes = 1024 * 1024;
	cfg->max_value_bytes = 64 * 1024;
	cfg->seal = ZG_SEAL_KEYFILE;
	cfg->log_level = ZG_LOG_INFO;
	cfg->audit_tree_head_interval_s = 10;
	cfg->audit_max_metadata_bytes = 16 * 1024;
	cfg->audit_queue_size = 10000;
	snprintf(cfg->oidc_algorithms, sizeof(cfg->oidc_algorithms),
	    "RS256,PS256,ES256,EdDSA");
	cfg->oidc_clock_skew_s = 60;
	snprintf(cfg->oidc_user_claim, sizeof(cfg->oidc_user_claim), "sub");
	snprintf(cfg->oidc_roles_claim, sizeof(cfg->oidc_roles_claim), "roles");
	snprintf(cfg->oidc_user_prefix, sizeof(cfg->oidc_user_prefix), "oidc:");
	cfg->magic_clock_skew_s = 60;
	cfg->lockout_threshold = 10;
	cfg->lockout_window_s = 300;
	cfg->lockout_base_backoff_s = 30;
	cfg->lockout_max_backoff_s = 3600;
	snprintf(cfg->authz_default_roles, sizeof(cfg->authz_default_roles),
	    "member");
	cfg->txpolicy_rejections = 1;
	cfg->txpolicy_max_approval_s = 30 * 86400;
	snprintf(cfg->audit_critical_events, sizeof(cfg->audit_critical_events),
	    "authentication_failure_burst,credentials_revoke,tokens_revoke,"
	    "sys_rotate_root,sys_rotate_kek,users_erase,users_grant,"
	    "users_revoke,roles_update,roles_delete,keys_destroy,"
	    "audit_failure,audit_recover");
}

zg_err
zg_config_set_listen(zg_config *cfg, const char *value, zg_errmsg *em)
{
	const char *host_start = value;
	const char *host_end;
	const char *port_str;

	if (value[0] == '[') {
		host_start = value + 1;
		host_end = strchr(host_start, ']');
		if (host_end == NULL || host_end[1] != ':')
			goto bad;
		port_str = host_end + 2;
	} else {
		host_end = strrchr(value, ':');
		if (host_end == NULL)
			goto bad;
		port_str = host_end + 1;
	}
	size_t host_len = (size_t)(host_end - host_start);
	if (host_len == 0 || host_len >= sizeof(cfg->listen_host))
		goto bad;
	char *end;
	errno = 0;
	long port = strtol(port_str, &end, 10);
	if (errno != 0 || *port_str == '\0' || *end != '\0' || port < 1 ||
	    port > 65535)
		goto bad;
	memcpy(cfg->listen_host, host_start, host_len);
	cfg->listen_host[host_len] = '\0';
	cfg->listen_port = (unsigned)port;
	return ZG_OK;
bad: {
	char q[ZG_QUOTE_MAX];
	zg_quote_value(value, q, sizeof(q));
	return zg_fail(em, ZG_ERR_CONFIG,
	    "invalid listen address \"%s\"; expected HOST:PORT such as "
	    "127.0.0.1:8420 or [::1]:8420", q);
}
}

static int
parse_size(const char *value, size_t min, size_t max, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	if (errno != 0 || value[0] == '\0' || value[0] == '-' || *end != '\0' ||
	    v < min || v > max)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int
copy_str(char *dst, size_t dstsz, const char *value)
{
	size_t n = strlen(value);
	if (n >= dstsz)
		return -1;
	memcpy(dst, value, n + 1);
	return 0;
}

struct load_ctx {
	zg_config *cfg;
	zg_errmsg *em;
	zg_err err;
};

#define KEY(s, k) (strcmp(section, (s)) == 0 && strcmp(name, (k)) == 0)

static int
parse_seconds(const char *value, size_t max, unsigned *out)
{
	size_t n;
	if (parse_size(value, 0, max, &n) != 0)
		return 1;
	*out = (unsigned)n;
	return 0;
}

/*
 * The identity and key backend sections. Returns 0 when the value was
 * taken, 1 for a bad value and -1 for an unknown key.
 */
static int
identity_entry(zg_config *cfg, const char *section, const char *name,
    const char *value)
{
	if (KEY("oidc", "issuer"))
		return copy_str(cfg->oidc_issuer, sizeof(cfg->oidc_issuer), value);
	if (KEY("oidc", "audience"))
		return copy_str(cfg->oidc_audience, sizeof(cfg->oidc_audience),
		    value);
	if (KEY("oidc", "jwks_file"))
		return copy_str(cfg->oidc_jwks_file, sizeof(cfg->oidc_jwks_file),
		    value);
	if (KEY("oidc", "jwks_url"))
		return copy_str(cfg->oidc_jwks_url, sizeof(cfg->oidc_jwks_url),
		    value);
	if (KEY("oidc", "algorithms"))
		return copy_str(cfg->oidc_algorithms,
		    sizeof(cfg->oidc_algorithms), value);
	if (KEY("oidc", "clock_skew_seconds"))
		return parse_seconds(value, 600, &cfg->oidc_clock_skew_s);
	if (KEY("oidc", "user_claim"))
		return copy_str(cfg->oidc_user_claim,
		    sizeof(cfg->oidc_user_claim), value);
	if (KEY("oidc", "user_prefix"))
		return copy_str(cfg->oidc_user_prefix,
		    sizeof(cfg->oidc_user_prefix), value);
	if (KEY("oidc", "roles_claim"))
		return copy_str(cfg->oidc_roles_claim,
		    sizeof(cfg->oidc_roles_claim), value);
	if (KEY("magic", "client_id"))
		return copy_str(cfg->magic_client_id,
		    sizeof(cfg->magic_client_id), value);
	if (KEY("magic", "clock_skew_seconds"))
		return parse_seconds(value, 600, &cfg->magic_clock_skew_s);
	if (KEY("lockout", "threshold"))
		return parse_seconds(value, 1000000, &cfg->lockout_threshold) ||
		    cfg->lockout_threshold == 0;
	if (KEY("lockout", "window_seconds"))
		return parse_seconds(value, 86400, &cfg->lockout_window_s);
	if (KEY("lockout", "base_backoff_seconds"))
		return parse_seconds(value, 86400, &cfg->lockout_base_backoff_s);
	if (KEY("lockout", "max_backoff_seconds"))
		return parse_seconds(value, 7 * 86400,
		    &cfg->lockout_max_backoff_s);
	if (KEY("authz", "default_roles"))
		return copy_str(cfg->authz_default_roles,
		    sizeof(cfg->authz_default_roles), value);
	if (KEY("pkcs11", "module"))
		return copy_str(cfg->pkcs11_module, sizeof(cfg->pkcs11_module),
		    value);
	if (KEY("pkcs11", "token_label"))
		return copy_str(cfg->pkcs11_token_label,
		    sizeof(cfg->pkcs11_token_label), value);
	if (KEY("pkcs11", "pin_file"))
		return copy_str(cfg->pkcs11_pin_file,
		    sizeof(cfg->pkcs11_pin_file), value);
	if (KEY("pkcs11", "pin_env"))
		return copy_str(cfg->pkcs11_pin_env, sizeof(cfg->pkcs11_pin_env),
		    value);
	return -1;
}

/* True if s is a decimal chain id from 1 to 78 digits, no leading zero. */
static bool
chain_id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 78 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * The [rpc] and [txpolicy] sections. Returns 0 when the value was taken,
 * 1 for a bad value and -1 for an unknown key.
 */
static int
txpolicy_entry(zg_config *cfg, const char *section, const char *name,
    const char *value)
{
	size_t n;

	if (KEY("rpc", "connect_timeout_ms")) {
		if (parse_size(value, 1, 600000, &n) != 0)
			return 1;
		cfg->rpc_connect_timeout_ms = (unsigned)n;
		return 0;
	}
	if (KEY("rpc", "timeout_ms")) {
		if (parse_size(value, 1, 600000, &n) != 0)
			return 1;
		cfg->rpc_timeout_ms = (unsigned)n;
		return 0;
	}
	if (strcmp(section, "rpc") == 0) {
		if (!chain_id_valid(name))
			return -1;
		if (strncmp(value, "http://", 7) != 0 &&
		    strncmp(value, "https://", 8) != 0)
			return 1;
		for (unsigned i = 0; i < cfg->nrpc_endpoints; i++)
			if (strcmp(cfg->rpc_endpoints[i].chain_id, name) == 0)
				return 1;
		if (cfg->nrpc_endpoints == ZG_RPC_ENDPOINTS_MAX)
			return 1;
		struct zg_rpc_endpoint *e =
		    &cfg->rpc_endpoints[cfg->nrpc_endpoints];
		if (copy_str(e->url, sizeof(e->url), value) != 0)
			return 1;
		snprintf(e->chain_id, sizeof(e->chain_id), "%s", name);
		cfg->nrpc_endpoints++;
		return 0;
	}
	if (KEY("txpolicy", "require_policy")) {
		if (strcmp(value, "true") == 0)
			cfg->txpolicy_require_policy = true;
		else if (strcmp(value, "false") == 0)
			cfg->txpolicy_require_policy = false;
		else
			return 1;
		return 0;
	}
	if (KEY("txpolicy", "rejections_to_reject")) {
		if (parse_size(value, 1, 1000, &n) != 0)
			return 1;
		cfg->txpolicy_rejections = (unsigned)n;
		return 0;
	}
	if (KEY("txpolicy", "max_approval_seconds")) {
		if (parse_size(value, 1, 30 * 86400, &n) != 0)
			return 1;
		cfg->txpolicy_max_approval_s = (unsigned)n;
		return 0;
	}
	return -1;
}

const char *
zg_config_rpc_endpoint(const zg_config *cfg, const char *chain_id)
{
	for (unsigned i = 0; i < cfg->nrpc_endpoints; i++)
		if (strcmp(cfg->rpc_endpoints[i].chain_id, chain_id) == 0)
			return cfg->rpc_endpoints[i].url;
	return NULL;
}

static int
on_ini_entry(void *user, const char *section, const char *name,
    const char *value)
{
	struct load_ctx *ctx = user;
	zg_config *cfg = ctx->cfg;
	size_t n = 0;
	int bad = 0;

	if (ctx->err != ZG_OK)
		return 0;
	if (KEY("server", "listen")) {
		if (zg_config_set_listen(cfg, value, ctx->em) != ZG_OK) {
			ctx->err = ZG_ERR_CONFIG;
			return 0;
		}
	} else if (KEY("server", "data")) {
		bad = copy_str(cfg->data_dir, sizeof(cfg->data_dir), value);
	} else if (KEY("server", "max_body_bytes")) {
		bad = parse_size(value, 1024, (size_t)1 << 30, &cfg->max_body_bytes);
	} else if (KEY("server", "http_threads")) {
		bad = parse_size(value, 0, 256, &n);
		cfg->http_threads = (unsigned)n;
	} else if (KEY("server", "workers")) {
		bad = parse_size(value, 0, 1024, &n);
		cfg->workers = (unsigned)n;
	} else if (KEY("server", "tls_cert")) {
		bad = copy_str(cfg->tls_cert, sizeof(cfg->tls_cert), value);
	} else if (KEY("server", "tls_key")) {
		bad = copy_str(cfg->tls_key, sizeof(cfg->tls_key), value);
	} else if (KEY("vault", "seal")) {
		if (strcmp(value, "keyfile") == 0)
			cfg->seal = ZG_SEAL_KEYFILE;
		else if (strcmp(value, "passphrase") == 0)
			cfg->seal = ZG_SEAL_PASSPHRASE;
		else
			bad = 1;
	} else if (KEY("vault", "max_value_bytes")) {
		bad = parse_size(value, 1, 16 * 1024 * 1024, &cfg->max_value_bytes);
	} else if (KEY("log", "level")) {
		bad = zg_log_parse_level(value, &cfg->log_level) != 0;
	} else if (KEY("audit", "tree_head_interval_seconds")) {
		bad = parse_size(value, 1, 86400, &n);
		cfg->audit_tree_head_interval_s = (unsigned)n;
	} else if (KEY("audit", "max_metadata_bytes")) {
		bad = parse_size(value, 64, 1024 * 1024,
		    &cfg->audit_max_metadata_bytes);
	} else if (KEY("audit", "syslog")) {
		bad = copy_str(cfg->audit_syslog, sizeof(cfg->audit_syslog), value);
	} else if (KEY("audit", "json_file")) {
		bad = copy_str(cfg->audit_json_file, sizeof(cfg->audit_json_file),
		    value);
	} else if (KEY("audit", "critical_events")) {
		bad = copy_str(cfg->audit_critical_events,
		    sizeof(cfg->audit_critical_events), value);
	} else if (KEY("audit", "queue_size")) {
		bad = parse_size(value, 1, 10000000, &n);
		cfg->audit_queue_size = (unsigned)n;
	} else if (strcmp(section, "rpc") == 0 ||
	    strcmp(section, "txpolicy") == 0) {
		int r = txpolicy_entry(cfg, section, name, value);
		if (r < 0) {
			ctx->err = zg_fail(ctx->em, ZG_ERR_CONFIG,
			    "unknown setting \"%s\" in section [%s]%s", name,
			    section, strcmp(section, "rpc") == 0 ? "; endpoint "
			    "keys are decimal chain ids such as 1 or 1337" : "");
			return 0;
		}
		bad = r;
	} else if (strcmp(section, "oidc") == 0 || strcmp(section, "magic") == 0 ||
	    strcmp(section, "lockout") == 0 || strcmp(section, "authz") == 0 ||
	    strcmp(section, "pkcs11") == 0) {
		int r = identity_entry(cfg, section, name, value);
		if (r < 0) {
			ctx->err = zg_fail(ctx->em, ZG_ERR_CONFIG,
			    "unknown setting \"%s\" in section [%s]", name,
			    section);
			return 0;
		}
		bad = r;
	} else {
		ctx->err = zg_fail(ctx->em, ZG_ERR_CONFIG,
		    "unknown setting \"%s\" in section [%s]", name, section);
		return 0;
	}
	if (bad && strcmp(section, "rpc") == 0) {
		/* Endpoint URLs often carry an API key, so none is echoed. */
		ctx->err = zg_fail(ctx->em, ZG_ERR_CONFIG, "invalid value for "
		    "setting \"%s\" in section [rpc]: an endpoint must be an "
		    "http:// or https:// URL, each chain id once, at most %d; "
		    "timeouts are 1 to 600000 ms", name, ZG_RPC_ENDPOINTS_MAX);
		return 0;
	}
	if (bad) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(value, q, sizeof(q));
		ctx->err = zg_fail(ctx->em, ZG_ERR_CONFIG,
		    "invalid value \"%s\" for setting \"%s\" in section [%s]", q,
		    name, section);
		return 0;
	}
	return 1;
}

zg_err
zg_config_load_file(zg_config *cfg, const char *path, zg_errmsg *em)
{
	struct load_ctx ctx = {cfg, em, ZG_OK};
	int rc = ini_parse(path, on_ini_entry, &ctx);
	if (ctx.err != ZG_OK)
		return ctx.err;
	if (rc < 0)
		return zg_fail(em, ZG_ERR_CONFIG,
		    "cannot read config file %s: %s", path, strerror(errno));
	if (rc > 0)
		return zg_fail(em, ZG_ERR_CONFIG,
		    "config file %s has a syntax error on line %d", path, rc);
	return ZG_OK;
}

zg_err
zg_config_validate(const zg_config *cfg, zg_errmsg *em)
{
	if ((cfg->tls_cert[0] == '\0') != (cfg->tls_key[0] == '\0'))
		return zg_fail(em, ZG_ERR_CONFIG,
		    "tls_cert and tls_key must be set together");
	if (cfg->data_dir[0] == '\0')
		return zg_fail(em, ZG_ERR_CONFIG, "data directory is empty");
	if (cfg->max_value_bytes >= cfg->max_body_bytes)
		return zg_fail(em, ZG_ERR_CONFIG,
		    "max_value_bytes (%zu) must be below max_body_bytes (%zu)",
		    cfg->max_value_bytes, cfg->max_body_bytes);
	return ZG_OK;
}
