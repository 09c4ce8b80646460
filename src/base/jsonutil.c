#include "base/jsonutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/timeutil.h"

/* Each block carries its size in front so that free can wipe it. */
#define ALLOC_HEADER 16

static void *
wiping_malloc(size_t n)
{
	if (n > SIZE_MAX - ALLOC_HEADER)
		return NULL;
	unsigned char *p = malloc(n + ALLOC_HEADER);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + ALLOC_HEADER;
}

static void
wiping_free(void *ptr)
{
	if (ptr == NULL)
		return;
	unsigned char *p = (unsigned char *)ptr - ALLOC_HEADER;
	size_t n;
	memcpy(&n, p, sizeof(n));
	zg_wipe(p, n + ALLOC_HEADER);
	free(p);
}

static bool wiping_in_use;

void
zg_json_free_text(char *text)
{
	if (text == NULL)
		return;
	if (wiping_in_use) {
		wiping_free(text);
	} else {
		zg_wipe(text, strlen(text));
		free(text);
	}
}

void
zg_json_use_wiping_allocator(void)
{
	json_set_alloc_funcs(wiping_malloc, wiping_free);
	wiping_in_use = true;
}

zg_err
zg_json_parse_object(const char *body, size_t len, json_t **out, zg_errmsg *em)
{
	json_error_t jerr;
	*out = NULL;
	if (body == NULL || len == 0)
		return zg_fail(em, ZG_ERR_BAD_JSON,
		    "request body is empty; expected a JSON object");
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/* jansson quotes the text near the error, which may be part of
		 * a secret value: keep only its description. */
		char *near = strstr(jerr.text, " near '");
		if (near != NULL)
			*near = '\0';
		if (strstr(jerr.text, "JSON_ALLOW_NUL") != NULL)
			return zg_fail(em, ZG_ERR_BAD_JSON, "request body is not "
			    "accepted: strings must not contain \\u0000 (line %d, "
			    "column %d)", jerr.line, jerr.column);
		return zg_fail(em, ZG_ERR_BAD_JSON,
		    "request body is not valid JSON: %s at line %d, column %d",
		    jerr.text, jerr.line, jerr.column);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return zg_fail(em, ZG_ERR_INVALID,
		    "request body must be a JSON object");
	}
	*out = root;
	return ZG_OK;
}

zg_err
zg_json_only_keys_in(const json_t *obj, const char *path,
    const char *const *allowed, zg_errmsg *em)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)obj, key, value) {
		bool known = false;
		for (const char *const *a = allowed; *a != NULL; a++) {
			if (strcmp(*a, key) == 0) {
				known = true;
				break;
			}
		}
		if (!known) {
			char q[ZG_QUOTE_MAX];
			zg_quote_value(key, q, sizeof(q));
			return zg_fail(em, ZG_ERR_INVALID,
			    "unknown field \"%s\" in %s", q, path);
		}
	}
	return ZG_OK;
}

zg_err
zg_json_only_keys(const json_t *obj, const char *const *allowed, zg_errmsg *em)
{
	return zg_json_only_keys_in(obj, "request body", allowed, em);
}

void
zg_json_value_text(const json_t *v, char *out, size_t outsz)
{
	char q[ZG_QUOTE_MAX], num[64];

	if (v == NULL) {
		snprintf(out, outsz, "nothing");
	} else if (json_is_string(v)) {
		zg_quote_value(json_string_value(v), q, sizeof(q));
		snprintf(out, outsz, "\"%s\"", q);
	} else if (json_is_object(v)) {
		snprintf(out, outsz, "an object");
	} else if (json_is_array(v)) {
		snprintf(out, outsz, "an array");
	} else {
		size_t n = json_dumpb(v, num, sizeof(num) - 1, JSON_ENCODE_ANY);
		num[n < sizeof(num) ? n : 0] = '\0';
		zg_quote_value(num, q, sizeof(q));
		snprintf(out, outsz, "%s", q);
	}
}

static zg_err
missing(const char *key, zg_errmsg *em)
{
	return zg_fail(em, ZG_ERR_INVALID, "missing required field \"%s\"", key);
}

zg_err
zg_json_get_string(const json_t *obj, const char *key, int flags,
    size_t min_len, size_t max_len, const char **out, size_t *out_len,
    zg_errmsg *em)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	if (v == NULL || json_is_null(v)) {
		if (flags & ZG_JSON_REQUIRED)
			return missing(key, em);
		return ZG_OK;
	}
	if (!json_is_string(v))
		return zg_fail(em, ZG_ERR_INVALID,
		    "field \"%s\" must be a string", key);
	size_t len = json_string_length(v);
	if (len < min_len || len > max_len) {
		if (len == 0)
			return zg_fail(em, ZG_ERR_INVALID,
			    "field \"%s\" must not be empty", key);
		if (len > max_len && max_len >= 1024)
			return zg_fail(em, ZG_ERR_TOO_LARGE,
			    "field \"%s\" has %zu bytes; the limit is %zu",
			    key, len, max_len);
		return zg_fail(em, ZG_ERR_INVALID,
		    "field \"%s\" must have %zu to %zu bytes; got %zu", key,
		    min_len, max_len, len);
	}
	*out = json_string_value(v);
	if (out_len != NULL)
		*out_len = len;
	return ZG_OK;
}

zg_err
zg_json_get_int(const json_t *obj, const char *key, int flags, int64_t min,
    int64_t max, int64_t *out, bool *present, zg_errmsg *em)
{
	json_t *v = json_object_get(obj, key);
	if (present != NULL)
		*present = false;
	if (v == NULL || json_is_null(v)) {
		if (flags & ZG_JSON_REQUIRED)
			return missing(key, em);
		return ZG_OK;
	}
	if (!json_is_integer(v))
		return zg_fail(em, ZG_ERR_INVALID,
		    "field \"%s\" must be an integer", key);
	json_int_t i = json_integer_value(v);
	if (i < min || i > max)
		return zg_fail(em, ZG_ERR_INVALID,
		    "field \"%s\" must be between %lld and %lld; got %lld", key,
		    (long long)min, (long long)max, (long long)i);
	*out = (int64_t)i;
	if (present != NULL)
		*present = true;
	return ZG_OK;
}

zg_err
zg_json_get_bool(const json_t *obj, const char *key, int flags, bool *out,
    zg_errmsg *em)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		if (flags & ZG_JSON_REQUIRED)
			return missing(key, em);
		return ZG_OK;
	}
	if (!json_is_boolean(v))
		return zg_fail(em, ZG_ERR_INVALID,
		    "field \"%s\" must be true or false", key);
	*out = json_is_true(v);
	return ZG_OK;
}

json_t *
zg_json_time(int64_t t_us)
{
	char ts[40];
	if (t_us == 0)
		return json_null();
	zg_time_format_rfc3339(t_us, ts, sizeof(ts));
	return json_string(ts);
}
