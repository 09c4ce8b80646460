/* Conditions and time zones, internal to src/authz. */
#ifndef ZG_AUTHZ_COND_H
#define ZG_AUTHZ_COND_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "authz/engine.h"
#include "authz/model.h"
#include "authz/tz.h"

/* Everything a condition may read during one decision. */
typedef struct zg_authz_request {
	const zg_authz_subject *subject;
	const char *path;
	const zg_authz_context *ctx;   /* never NULL */
	int64_t now_us;
} zg_authz_request;

/*
 * Parses a condition: an object with "type", or the short string form
 * "left op right" of a comparison. field names it in messages.
 */
zg_err zg_authz_cond_from_json(const json_t *v, const char *field,
    zg_authz_cond *out, zg_errmsg *em);
json_t *zg_authz_cond_to_json(const zg_authz_cond *c);
zg_err zg_authz_cond_copy(zg_authz_cond *dst, const zg_authz_cond *src);
void zg_authz_cond_free(zg_authz_cond *c);

/* True if c holds for req. A missing attribute makes a comparison false. */
bool zg_authz_cond_holds(const zg_authz_cond *c, const zg_authz_request *req);

#endif
