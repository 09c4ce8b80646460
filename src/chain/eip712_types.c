/*
 * The type side of EIP-712 typed data: checking the struct definitions
 * of "types", encodeType and typeHash, and the EIP712Domain type derived
 * from a domain that "types" does not declare. The format is described at
 * the top of eip712.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "chain/eip712_internal.h"
#include "crypto/keccak.h"

/* The domain fields in the order ethers 6 derives them. */
static const field domain_fields[] = {
	{"name", "string"},
	{"version", "string"},
	{"chainId", "uint256"},
	{"verifyingContract", "address"},
	{"salt", "bytes32"},
};

static bool
is_identifier(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	    *s == '_' || *s == '$'))
		return false;
	for (s++; *s != '\0'; s++) {
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '$'))
			return false;
	}
	return true;
}

/* Parses a decimal size in [lo, hi] without leading zeros, filling *out. */
bool
zg_eip712_parse_size(const char *s, size_t n, size_t lo, size_t hi,
    size_t *out)
{
	size_t v = 0;
	if (n == 0 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (SIZE_MAX - 9) / 10)
			return false;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Classifies a type name of n bytes; *size is N of bytesN, uintN, intN. */
enum atomic
zg_eip712_atomic_kind(const char *t, size_t n, size_t *size)
{
	size_t v;
	if (n == 4 && memcmp(t, "bool", 4) == 0)
		return T_BOOL;
	if (n == 7 && memcmp(t, "address", 7) == 0)
		return T_ADDRESS;
	if (n == 6 && memcmp(t, "string", 6) == 0)
		return T_STRING;
	if (n == 5 && memcmp(t, "bytes", 5) == 0)
		return T_BYTES;
	if (n > 5 && memcmp(t, "bytes", 5) == 0 &&
	    zg_eip712_parse_size(t + 5, n - 5, 1, 32, &v)) {
		*size = v;
		return T_BYTES_N;
	}
	if (n > 4 && memcmp(t, "uint", 4) == 0 &&
	    zg_eip712_parse_size(t + 4, n - 4, 8, 256, &v) && v % 8 == 0) {
		*size = v;
		return T_UINT;
	}
	if (n > 3 && memcmp(t, "int", 3) == 0 &&
	    zg_eip712_parse_size(t + 3, n - 3, 8, 256, &v) && v % 8 == 0) {
		*size = v;
		return T_INT;
	}
	return NOT_ATOMIC;
}

stype *
zg_eip712_find_type(ctx *c, const char *name, size_t n)
{
	for (size_t i = 0; i < c->ntypes; i++) {
		if (strlen(c->types[i].name) == n &&
		    memcmp(c->types[i].name, name, n) == 0)
			return &c->types[i];
	}
	return NULL;
}

/* Length of the base type: t without its array suffixes. */
static size_t
base_len(const char *t)
{
	const char *b = strchr(t, '[');
	return b != NULL ? (size_t)(b - t) : strlen(t);
}

/* Checks a field type: a base name then any number of "[]" or "[N]". */
static zg_err
check_field_type(ctx *c, const char *owner, const field *f)
{
	char q[ZG_QUOTE_MAX];
	size_t n = base_len(f->type), size, dim;
	zg_quote_value(f->type, q, sizeof(q));
	if (zg_eip712_atomic_kind(f->type, n, &size) == NOT_ATOMIC &&
	    zg_eip712_find_type(c, f->type, n) == NULL)
		return zg_fail(c->em, ZG_ERR_INVALID, "typed data: field "
		    "\"%s\" of type \"%s\" has type \"%s\", which is neither "
		    "an EIP-712 atomic type nor declared in \"types\"", f->name,
		    owner, q);
	for (const char *p = f->type + n; *p != '\0';) {
		const char *close = strchr(p, ']');
		if (*p != '[' || close == NULL ||
		    (close != p + 1 && !zg_eip712_parse_size(p + 1,
		    (size_t)(close - p - 1), 1, SIZE_MAX, &dim)))
			return zg_fail(c->em, ZG_ERR_INVALID, "typed data: field "
			    "\"%s\" of type \"%s\" has a malformed array type "
			    "\"%s\"", f->name, owner, q);
		p = close + 1;
	}
	return ZG_OK;
}

static zg_err
load_struct(ctx *c, const char *name, const json_t *def, stype *st)
{
	char q[ZG_QUOTE_MAX];
	size_t unused;
	zg_quote_value(name, q, sizeof(q));
	if (!is_identifier(name) ||
	    zg_eip712_atomic_kind(name, strlen(name), &unused) != NOT_ATOMIC)
		return zg_fail(c->em, ZG_ERR_INVALID, "typed data: \"%s\" is "
		    "not a valid struct type name", q);
	if (!json_is_array(def))
		return zg_fail(c->em, ZG_ERR_INVALID, "typed data: type \"%s\" "
		    "must be an array of {\"name\", \"type\"}", q);
	st->name = name;
	st->nfields = json_array_size(def);
	if (st->nfields > 0) {
		st->fields = calloc(st->nfields, sizeof(*st->fields));
		if (st->fields == NULL)
			return zg_fail(c->em, ZG_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < st->nfields; i++) {
		json_t *f = json_array_get(def, i);
		json_t *fn = json_object_get(f, "name");
		json_t *ft = json_object_get(f, "type");
		if (!json_is_object(f) || json_object_size(f) != 2 ||
		    !json_is_string(fn) || !json_is_string(ft))
			return zg_fail(c->em, ZG_ERR_INVALID, "typed data: field "
			    "%zu of type \"%s\" must be {\"name\": string, "
			    "\"type\": string} and nothing else", i, q);
		st->fields[i].name = json_string_value(fn);
		st->fields[i].type = json_string_value(ft);
		if (!is_identifier(st->fields[i].name))
			return zg_fail(c->em, ZG_ERR_INVALID, "typed data: field "
			    "%zu of type \"%s\" has an invalid name", i, q);
		for (size_t k = 0; k < i; k++) {
			if (strcmp(st->fields[k].name, st->fields[i].name) == 0)
				return zg_fail(c->em, ZG_ERR_INVALID, "typed "
				    "data: type \"%s\" declares field \"%s\" "
				    "twice", q, st->fields[i].name);
		}
	}
	return ZG_OK;
}

/* Searches depth-first for a struct that reaches itself. path contains
 * the structs on the way down, so the message can show the cycle. */
static zg_err
find_cycle(ctx *c, stype *st, stype **path, size_t depth)
{
	zg_err err;
	st->mark = 1;
	path[depth] = st;
	for (size_t i = 0; i < st->nfields; i++) {
		const char *t = st->fields[i].type;
		stype *ref = zg_eip712_find_type(c, t, base_len(t));
		if (ref == NULL || ref->mark == 2)
			continue;
		if (ref->mark == 1) {
			char msg[240];
			size_t start = 0, len = 0;
			while (path[start] != ref)
				start++;
			for (size_t k = start; k <= depth && len < sizeof(msg); k++)
				len += (size_t)snprintf(msg + len, sizeof(msg) - len,
				    "%s -> ", path[k]->name);
			if (len < sizeof(msg))
				snprintf(msg + len, sizeof(msg) - len, "%s",
				    ref->name);
			return zg_fail(c->em, ZG_ERR_INVALID, "typed data: type "
			    "cycle %s; a struct must not contain itself, "
			    "directly or through other structs", msg);
		}
		if ((err = find_cycle(c, ref, path, depth + 1)) != ZG_OK)
			return err;
	}
	st->mark = 2;
	return ZG_OK;
}

zg_err
zg_eip712_load_types(ctx *c, const json_t *types)
{
	zg_err err;
	const char *name;
	json_t *def;
	stype *path[MAX_TYPES];

	if (!json_is_object(types))
		return zg_fail(c->em, ZG_ERR_INVALID, "typed data: \"types\" "
		    "must be an object of struct definitions");
	if (json_object_size(types) > MAX_TYPES)
		return zg_fail(c->em, ZG_ERR_INVALID, "typed data: \"types\" "
		    "declares %zu structs; the limit is %d",
		    json_object_size(types), MAX_TYPES);
	json_object_foreach((json_t *)types, name, def) {
		stype *st = &c->types[c->ntypes++];
		if ((err = load_struct(c, name, def, st)) != ZG_OK)
			return err;
	}
	for (size_t i = 0; i < c->ntypes; i++) {
		for (size_t k = 0; k < c->types[i].nfields; k++) {
			if ((err = check_field_type(c, c->types[i].name,
			    &c->types[i].fields[k])) != ZG_OK)
				return err;
		}
	}
	for (size_t i = 0; i < c->ntypes; i++) {
		if (c->types[i].mark == 0 &&
		    (err = find_cycle(c, &c->types[i], path, 0)) != ZG_OK)
			return err;
	}
	return ZG_OK;
}

/* Adds the struct types st references, directly or not, to set. */
static void
collect_deps(ctx *c, const stype *st, bool *set)
{
	for (size_t i = 0; i < st->nfields; i++) {
		const char *t = st->fields[i].type;
		stype *ref = zg_eip712_find_type(c, t, base_len(t));
		if (ref == NULL || set[ref - c->types])
			continue;
		set[ref - c->types] = true;
		collect_deps(c, ref, set);
	}
}

static zg_err
append_type(zg_buf *b, const stype *st)
{
	zg_err err;
	if ((err = zg_buf_append_str(b, st->name)) != ZG_OK ||
	    (err = zg_buf_append_u8(b, '(')) != ZG_OK)
		return err;
	for (size_t i = 0; i < st->nfields; i++) {
		if ((i > 0 && (err = zg_buf_append_u8(b, ',')) != ZG_OK) ||
		    (err = zg_buf_append_str(b, st->fields[i].type)) != ZG_OK ||
		    (err = zg_buf_append_u8(b, ' ')) != ZG_OK ||
		    (err = zg_buf_append_str(b, st->fields[i].name)) != ZG_OK)
			return err;
	}
	return zg_buf_append_u8(b, ')');
}

/* Computes st's typeHash once: encodeType is st, then its dependencies
 * sorted by name (byte order, as the names are ASCII identifiers). */
zg_err
zg_eip712_type_hash(ctx *c, stype *st)
{
	zg_err err = ZG_OK;
	bool set[MAX_TYPES + 1] = {false};
	zg_buf b = ZG_BUF_INIT;

	if (st->hashed)
		return ZG_OK;
	collect_deps(c, st, set);
	set[st - c->types] = false;
	if ((err = append_type(&b, st)) != ZG_OK)
		goto out;
	for (;;) {
		const stype *next = NULL;
		for (size_t i = 0; i < c->ntypes; i++) {
			if (set[i] && (next == NULL ||
			    strcmp(c->types[i].name, next->name) < 0))
				next = &c->types[i];
		}
		if (next == NULL)
			break;
		set[next - c->types] = false;
		if ((err = append_type(&b, next)) != ZG_OK)
			goto out;
	}
	zg_keccak256(b.data, b.len, st->type_hash);
	st->hashed = true;
out:
	zg_buf_free(&b);
	return err;
}

/* Derives EIP712Domain from the fields present in domain, when "types"
 * does not declare it. Unknown domain fields are rejected. */
zg_err
zg_eip712_derive_domain_type(ctx *c, const json_t *domain, field *fields)
{
	const char *key;
	json_t *value;
	stype *st = &c->types[c->ntypes];
	size_t n = 0;

	json_object_foreach((json_t *)domain, key, value) {
		bool known = false;
		for (size_t i = 0; i < 5 && !known; i++)
			known = strcmp(domain_fields[i].name, key) == 0;
		if (!known) {
			char q[ZG_QUOTE_MAX];
			zg_quote_value(key, q, sizeof(q));
			return zg_fail(c->em, ZG_ERR_INVALID, "typed data: "
			    "domain field \"%s\" is not one of name, version, "
			    "chainId, verifyingContract, salt; declare "
			    "\"EIP712Domain\" in \"types\" to use it", q);
		}
	}
	for (size_t i = 0; i < 5; i++) {
		if (json_object_get(domain, domain_fields[i].name) != NULL)
			fields[n++] = domain_fields[i];
	}
	memset(st, 0, sizeof(*st));
	st->name = "EIP712Domain";
	st->fields = fields;
	st->nfields = n;
	st->mark = 2;
	c->ntypes++;
	return ZG_OK;
}
