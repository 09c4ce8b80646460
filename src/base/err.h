/*
 * One error enum for the whole code base.
 *
 * A function that can fail returns a zg_err. ZG_OK is zero so that
 * `if ((err = step()) != ZG_OK) goto out;` reads naturally. Each code has a
 * stable snake_case name, used as the "code" of an API error, and an HTTP
 * status.
 */
#ifndef ZG_BASE_ERR_H
#define ZG_BASE_ERR_H

typedef enum zg_err {
	ZG_OK = 0,
	ZG_ERR_INTERNAL,           /* a bug or an unexpected library failure */
	ZG_ERR_NOMEM,              /* an allocation failed */
	ZG_ERR_INVALID,            /* a request value is malformed or out of range */
	ZG_ERR_BAD_JSON,           /* a request body is not valid JSON */
	ZG_ERR_NOT_FOUND,          /* no such route, record or file */
	ZG_ERR_METHOD,             /* the route exists but not for this method */
	ZG_ERR_CONFLICT,           /* the record already exists */
	ZG_ERR_TOO_LARGE,          /* a body or value exceeds its limit */
	ZG_ERR_UNAUTHENTICATED,    /* missing, unknown, expired or revoked token */
	ZG_ERR_FORBIDDEN,          /* authenticated, but access is denied */
	ZG_ERR_SEALED,             /* the root key is not loaded yet */
	ZG_ERR_REVOKED,            /* the record was revoked and its keys destroyed */
	ZG_ERR_EXPIRED,            /* the record expired */
	ZG_ERR_GONE,               /* a one-time lease was used or expired */
	ZG_ERR_INTEGRITY,          /* stored data failed authentication */
	ZG_ERR_CRYPTO,             /* a cryptographic library call failed */
	ZG_ERR_STORE,              /* the storage backend failed */
	ZG_ERR_IO,                 /* a file or socket operation failed */
	ZG_ERR_LOCKED,             /* another process holds the data directory */
	ZG_ERR_CONFIG,             /* the configuration is invalid */
	ZG_ERR_UNAVAILABLE,        /* the service is starting or stopping */
	ZG_ERR_AUDIT_UNAVAILABLE,  /* the audit log cannot be written */
	ZG_ERR_BAD_PASSPHRASE,     /* unseal failed: the passphrase is wrong */
	ZG_ERR_RATE_LIMITED,       /* too many failures: locked out for a while */
	ZG_ERR_UPSTREAM,           /* a node, HSM or key server failed to respond */
	ZG_ERR_BACKEND_UNAVAILABLE,/* the key backend (HSM) cannot be used now */
	ZG_ERR_DISABLED,           /* the object exists but is switched off */
	ZG_ERR__COUNT
} zg_err;

/* Returns the stable snake_case name of err, for example "not_found". */
const char *zg_err_name(zg_err err);

/* Returns a short English description of err. */
const char *zg_strerror(zg_err err);

/* Returns the HTTP status an API response uses for err. */
int zg_err_http_status(zg_err err);

#endif
