/*
 * Helpers on top of jansson for reading request bodies strictly and for
 * building responses. Every failure fills a zg_errmsg whose text names the
 * field and, unless it is secret, the bad value.
 */
#ifndef ZG_BASE_JSONUTIL_H
#define ZG_BASE_JSONUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/errmsg.h"

/*
 * Makes jansson wipe every block it frees, so decoded request bodies and
 * encoded responses that carried a secret do not linger on the heap. Call
 * once at start, before any other jansson call.
 */
void zg_json_use_wiping_allocator(void);

/*
 * Wipes and frees text returned by json_dumps. Once the wiping allocator
 * is in use, plain free() on such text corrupts the heap.
 */
void zg_json_free_text(char *text);

/*
 * Parses body as one JSON object. Invalid JSON, invalid UTF-8 and a NUL
 * escape get ZG_ERR_BAD_JSON with the line and column; a non-object
 * gets ZG_ERR_INVALID. On success the caller owns *out.
 */
zg_err zg_json_parse_object(const char *body, size_t len, json_t **out,
    zg_errmsg *em);

/* Rejects any key of obj that is not in the NULL-terminated list allowed. */
zg_err zg_json_only_keys(const json_t *obj, const char *const *allowed,
    zg_errmsg *em);

/* The same for an object nested in the body, named by path (for example
 * "permissions[0]") in the message. */
zg_err zg_json_only_keys_in(const json_t *obj, const char *path,
    const char *const *allowed, zg_errmsg *em);

/*
 * Writes a value as sent, for a message: a string quoted (and made safe
 * by zg_quote_value), a number or literal as JSON writes it, a container
 * by its kind only, and NULL as "nothing". out needs ZG_QUOTE_MAX + 2.
 */
void zg_json_value_text(const json_t *v, char *out, size_t outsz);

enum {
	ZG_JSON_OPTIONAL = 0,
	ZG_JSON_REQUIRED = 1,
	ZG_JSON_SECRET = 2, /* never echo the value in a message */
};

/*
 * Reads string field key into *out (borrowed from obj; NULL if absent and
 * optional). The string must have between min_len and max_len bytes.
 */
zg_err zg_json_get_string(const json_t *obj, const char *key, int flags,
    size_t min_len, size_t max_len, const char **out, size_t *out_len,
    zg_errmsg *em);

/* Reads an integer field in [min, max]; *out is untouched if absent. */
zg_err zg_json_get_int(const json_t *obj, const char *key, int flags,
    int64_t min, int64_t max, int64_t *out, bool *present, zg_errmsg *em);

/* Reads a boolean field; *out is untouched if absent. */
zg_err zg_json_get_bool(const json_t *obj, const char *key, int flags,
    bool *out, zg_errmsg *em);

/* Returns a JSON string for t in RFC 3339 with seconds, or null if t is 0. */
json_t *zg_json_time(int64_t t_us);

#endif
