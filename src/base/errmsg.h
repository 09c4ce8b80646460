/*
 * An error code with the sentence an API client receives, for example
 * "field \"type\" must be one of private_key, api_token, ...; got \"pgp\"".
 */
#ifndef ZG_BASE_ERRMSG_H
#define ZG_BASE_ERRMSG_H

#include <stddef.h>

#include "base/err.h"

typedef struct zg_errmsg {
	zg_err code;
	char text[320];
} zg_errmsg;

/*
 * Sets code and message and returns code, so that a caller can write
 * `return zg_fail(em, ZG_ERR_INVALID, "...", ...)`. em may be NULL.
 */
zg_err zg_fail(zg_errmsg *em, zg_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Writes a short, printable rendering of a client-supplied value for use in
 * a message: at most 48 characters, control and non-ASCII bytes as \xNN,
 * "..." when cut. Never pass a secret.
 */
void zg_quote_value(const char *s, char *out, size_t outsz);

#define ZG_QUOTE_MAX 200

#endif
