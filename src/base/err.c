#include "base/err.h"

struct err_info {
	const char *name;
	const char *text;
	int status;
};

static const struct err_info err_table[ZG_ERR__COUNT] = {
	[ZG_OK] = {"ok", "success", 200},
	[ZG_ERR_INTERNAL] = {"internal_error", "internal error", 500},
	[ZG_ERR_NOMEM] = {"out_of_memory", "out of memory", 503},
	[ZG_ERR_INVALID] = {"invalid_argument", "invalid argument", 400},
	[ZG_ERR_BAD_JSON] = {"invalid_json", "request body is not valid JSON", 400},
	[ZG_ERR_NOT_FOUND] = {"not_found", "not found", 404},
	[ZG_ERR_METHOD] = {"method_not_allowed", "method not allowed", 405},
	[ZG_ERR_CONFLICT] = {"conflict", "already exists", 409},
	[ZG_ERR_TOO_LARGE] = {"payload_too_large", "payload too large", 413},
	[ZG_ERR_UNAUTHENTICATED] = {"unauthenticated", "authentication required", 401},
	[ZG_ERR_FORBIDDEN] = {"forbidden", "access denied", 403},
	[ZG_ERR_SEALED] = {"sealed", "the vault is sealed", 503},
	[ZG_ERR_REVOKED] = {"revoked", "revoked", 410},
	[ZG_ERR_EXPIRED] = {"expired", "expired", 410},
	[ZG_ERR_GONE] = {"gone", "no longer available", 410},
	[ZG_ERR_INTEGRITY] = {"integrity_error", "stored data failed its integrity check", 500},
	[ZG_ERR_CRYPTO] = {"crypto_error", "cryptographic operation failed", 500},
	[ZG_ERR_STORE] = {"storage_error", "storage failure", 500},
	[ZG_ERR_IO] = {"io_error", "input/output error", 500},
	[ZG_ERR_LOCKED] = {"locked", "data directory is in use", 409},
	[ZG_ERR_CONFIG] = {"invalid_config", "invalid configuration", 500},
	[ZG_ERR_UNAVAILABLE] = {"unavailable", "service unavailable", 503},
	[ZG_ERR_AUDIT_UNAVAILABLE] = {"audit_unavailable", "the audit log cannot be written", 503},
	[ZG_ERR_BAD_PASSPHRASE] = {"invalid_passphrase", "the passphrase does not unseal the vault", 400},
	[ZG_ERR_RATE_LIMITED] = {"rate_limited", "too many failed attempts; retry later", 429},
	[ZG_ERR_UPSTREAM] = {"upstream_error", "an upstream service failed", 502},
	[ZG_ERR_BACKEND_UNAVAILABLE] = {"backend_unavailable", "the key backend is unavailable", 503},
	[ZG_ERR_DISABLED] = {"disabled", "disabled", 409},
};

static const struct err_info *
err_lookup(zg_err err)
{
	if ((unsigned)err >= ZG_ERR__COUNT)
		return &err_table[ZG_ERR_INTERNAL];
	return &err_table[err];
}

const char *
zg_err_name(zg_err err)
{
	return err_lookup(err)->name;
}

const char *
zg_strerror(zg_err err)
{
	return err_lookup(err)->text;
}

int
zg_err_http_status(zg_err err)
{
	return err_lookup(err)->status;
}
