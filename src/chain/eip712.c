/*
 * EIP-712 typed structured data hashing.
 *
 *   digest         = keccak256(0x19 0x01 || domainSeparator || hashStruct(message))
 *   domainSeparator = hashStruct(EIP712Domain, domain)
 *   hashStruct(s)  = keccak256(typeHash || encodeData(s))
 *   typeHash       = keccak256(encodeType), where encodeType is
 *                    "Name(type1 name1,type2 name2)" for the struct followed
 *                    by every struct it references, directly or not, sorted
 *                    by name
 *
 * encodeData is one 32-byte word per field: atomic values padded to 32
 * bytes (integers sign-extended, bytesN padded on the right), string and
 * bytes as their Keccak-256, structs as their hashStruct, and arrays as
 * the Keccak-256 of their elements' words concatenated.
 *
 * Types are checked in full before any value is read. Every referenced
 * struct must be declared, and no struct may reach itself, because a
 * value of such a type is finite only when an array on the cycle is empty.
 */
#include "chain/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "crypto/keccak.h"

/* NOTE: this limit is ours, not EIP-712's. It bounds the quadratic type
 * checks on hostile input, and 256 structs is a guess at ample room. */
#define MAX_TYPES 256
#define PATH_MAX_LEN 200

typedef struct field {
	const char *name;
	const char *type;
} field;

typedef struct stype {
	const char *name;
	field *fields;
	size_t nfields;
	int mark;               /* cycle search: 0 new, 1 on the path, 2 done */
	bool hashed;
	uint8_t type_hash[32];
} stype;

typedef struct ctx {
	stype types[MAX_TYPES + 1];     /* + a derived EIP712Domain */
	size_t ntypes;
	zg_errmsg *em;
} ctx;

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
static bool
parse_size(const char *s, size_t n, size_t lo, size_t hi, size_t *out)
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

enum atomic { NOT_ATOMIC, T_BOOL, T_ADDRESS, T_STRING, T_BYTES, T_BYTES_N,
	T_UINT, T_INT };

/* Classifies a type name of n bytes; *size is N of bytesN, uintN, intN. */
static enum atomic
atomic_kind(const char *t, size_t n, size_t *size)
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
	    parse_size(t + 5, n - 5, 1, 32, &v)) {
		*size = v;
		return T_BYTES_N;
	}
	if (n > 4 && memcmp(t, "uint", 4) == 0 &&
	    parse_size(t + 4, n - 4, 8, 256, &v) && v % 8 == 0) {
		*size = v;
		return T_UINT;
	}
	if (n > 3 && memcmp(t, "int", 3) == 0 &&
	    parse_size(t + 3, n - 3, 8, 256, &v) && v % 8 == 0) {
		*size = v;
		return T_INT;
	}
	return NOT_ATOMIC;
}

static stype *
find_type(ctx *c, const char *name, size_t n)
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
	if (atomic_kind(f->type, n, &size) == NOT_ATOMIC &&
	    find_type(c, f->type, n) == NULL)
		return zg_fail(c->em, ZG_ERR_INVALID, "typed data: field "
		    "\"%s\" of type \"%s\" has type \"%s\", which is neither "
		    "an EIP-712 atomic type nor declared in \"types\"", f->name,
		    owner, q);
	for (const char *p = f->type + n; *p != '\0';) {
		const char *close = strchr(p, ']');
		if (*p != '[' || close == NULL ||
		    (close != p + 1 && !parse_size(p + 1, (size_t)(close - p - 1),
		    1, SIZE_MAX, &dim)))
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
	    atomic_kind(name, strlen(name), &unused) != NOT_ATOMIC)
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
		stype *ref = find_type(c, t, base_len(t));
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

static zg_err
load_types(ctx *c, const json_t *types)
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
		stype *ref = find_type(c, t, base_len(t));
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
static zg_err
type_hash(ctx *c, stype *st)
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

static zg_err hash_struct(ctx *c, stype *st, const json_t *v,
    const char *path, uint8_t out[32]);

static zg_err
value_error(ctx *c, const char *path, const char *type, const char *what)
{
	return zg_fail(c->em, ZG_ERR_INVALID, "typed data: \"%s\" (%s) %s",
	    path, type, what);
}

/*
 * Encodes an intN or uintN value: a JSON integer below 2^53 in magnitude,
 * or a decimal or "0x" hex string, with a leading "-" for intN only.
 * Negative values are written in two's complement over 256 bits.
 */
static zg_err
encode_int(ctx *c, const json_t *v, size_t bits, bool is_signed,
    const char *path, const char *type, uint8_t out[32])
{
	zg_err err;
	zg_u256 mag, limit;
	bool negative = false;

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i > ZG_JSON_SAFE_INT_MAX || i < -ZG_JSON_SAFE_INT_MAX)
			return value_error(c, path, type, "is a JSON number "
			    "beyond 2^53-1; send it as a decimal string");
		negative = i < 0;
		zg_u256_from_u64(&mag, negative ? (uint64_t)-i : (uint64_t)i);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (strlen(s) != json_string_length(v))
			return value_error(c, path, type, "contains a NUL "
			    "character");
		if (is_signed && s[0] == '-') {
			negative = true;
			s++;
		}
		if ((err = zg_u256_parse(s, path, &mag, c->em)) != ZG_OK)
			return err;
	} else {
		return value_error(c, path, type, "must be an integer as a "
		    "JSON number or a decimal or \"0x\" hex string");
	}
	if (negative && zg_u256_is_zero(&mag))
		negative = false;
	if (negative && !is_signed)
		return value_error(c, path, type, "must not be negative");

	/* limit = 2^bits for uintN, 2^(bits-1) for intN; 2^256 is held as
	 * zero and means no limit. */
	size_t top = is_signed ? bits - 1 : bits;
	zg_u256_from_u64(&limit, 0);
	if (top < 256)
		limit.w[top / 64] = (uint64_t)1 << (top % 64);
	bool fits = top == 256 || (negative ? zg_u256_cmp(&mag, &limit) <= 0 :
	    zg_u256_cmp(&mag, &limit) < 0);
	if (!fits)
		return value_error(c, path, type, "is out of range for its "
		    "type");
	if (negative) {
		zg_u256 zero;
		zg_u256_from_u64(&zero, 0);
		zg_u256_sub(&mag, &zero, &mag);
	}
	zg_u256_to_be(&mag, out);
	return ZG_OK;
}

/* Encodes an atomic value of kind k into one 32-byte word. */
static zg_err
encode_atomic(ctx *c, enum atomic k, size_t size, const json_t *v,
    const char *path, const char *type, uint8_t out[32])
{
	zg_err err;
	uint8_t *bytes = NULL;
	size_t len = 0;
	memset(out, 0, 32);

	if (k == T_UINT || k == T_INT)
		return encode_int(c, v, size, k == T_INT, path, type, out);
	if (k == T_BOOL) {
		if (!json_is_boolean(v))
			return value_error(c, path, type, "must be true or "
			    "false");
		out[31] = json_is_true(v) ? 1 : 0;
		return ZG_OK;
	}
	if (!json_is_string(v))
		return value_error(c, path, type, "must be a string");
	const char *s = json_string_value(v);
	if (k == T_STRING) {
		zg_keccak256((const uint8_t *)s, json_string_length(v), out);
		return ZG_OK;
	}
	if (strlen(s) != json_string_length(v))
		return value_error(c, path, type, "contains a NUL character");
	if (k == T_ADDRESS)
		return zg_chain_address_parse(s, path, out + 12, c->em);
	if (k == T_BYTES_N)
		return zg_chain_hex_decode_fixed(s, path, out, size, c->em);
	if ((err = zg_chain_hex_decode(s, path, &bytes, &len, c->em)) != ZG_OK)
		return err;
	zg_keccak256(bytes, len, out);
	free(bytes);
	return ZG_OK;
}

/* Encodes a value of type t (atomic, struct or array) into one word. */
static zg_err
encode_value(ctx *c, const char *t, size_t tlen, const json_t *v,
    const char *path, uint8_t out[32])
{
	zg_err err = ZG_OK;
	char type[PATH_MAX_LEN], elem_path[PATH_MAX_LEN + 24];
	size_t size = 0;

	snprintf(type, sizeof(type), "%.*s", (int)tlen, t);
	if (tlen > 0 && t[tlen - 1] == ']') {
		/* An array: the innermost suffix is the last one. */
		size_t open = tlen - 1;
		while (t[open] != '[')
			open--;
		bool fixed = open + 2 < tlen;
		if (fixed)
			parse_size(t + open + 1, tlen - open - 2, 1, SIZE_MAX,
			    &size);
		if (!json_is_array(v))
			return value_error(c, path, type, "must be an array");
		if (fixed && json_array_size(v) != size) {
			char what[80];
			snprintf(what, sizeof(what), "must have %zu elements; "
			    "got %zu", size, json_array_size(v));
			return value_error(c, path, type, what);
		}
		zg_keccak k;
		zg_keccak_init(&k);
		for (size_t i = 0; i < json_array_size(v); i++) {
			uint8_t word[32];
			snprintf(elem_path, sizeof(elem_path), "%s[%zu]", path, i);
			if ((err = encode_value(c, t, open, json_array_get(v, i),
			    elem_path, word)) != ZG_OK)
				break;
			zg_keccak_update(&k, word, 32);
		}
		zg_keccak_final(&k, out);
		return err;
	}

	enum atomic kind = atomic_kind(t, tlen, &size);
	if (kind != NOT_ATOMIC)
		return encode_atomic(c, kind, size, v, path, type, out);
	stype *st = find_type(c, t, tlen);
	if (st == NULL)
		return zg_fail(c->em, ZG_ERR_INTERNAL, "typed data: type \"%s\" "
		    "vanished after the type check", type);
	return hash_struct(c, st, v, path, out);
}

static zg_err
hash_struct(ctx *c, stype *st, const json_t *v, const char *path,
    uint8_t out[32])
{
	zg_err err;
	const char *key;
	json_t *value;
	char field_path[PATH_MAX_LEN];

	if (!json_is_object(v))
		return value_error(c, path, st->name, "must be an object");
	json_object_foreach((json_t *)v, key, value) {
		bool known = false;
		for (size_t i = 0; i < st->nfields && !known; i++)
			known = strcmp(st->fields[i].name, key) == 0;
		if (!known) {
			char q[ZG_QUOTE_MAX];
			zg_quote_value(key, q, sizeof(q));
			return zg_fail(c->em, ZG_ERR_INVALID, "typed data: "
			    "\"%s\" (%s) has field \"%s\", which its type does "
			    "not declare", path, st->name, q);
		}
	}
	if ((err = type_hash(c, st)) != ZG_OK)
		return err;

	zg_keccak k;
	zg_keccak_init(&k);
	zg_keccak_update(&k, st->type_hash, 32);
	for (size_t i = 0; i < st->nfields; i++) {
		const field *f = &st->fields[i];
		uint8_t word[32];
		snprintf(field_path, sizeof(field_path), "%s.%s", path, f->name);
		json_t *fv = json_object_get(v, f->name);
		if (fv == NULL) {
			zg_keccak_final(&k, out);
			return zg_fail(c->em, ZG_ERR_INVALID, "typed data: "
			    "missing field \"%s\" (%s)", field_path, f->type);
		}
		if ((err = encode_value(c, f->type, strlen(f->type), fv,
		    field_path, word)) != ZG_OK) {
			zg_keccak_final(&k, out);
			return err;
		}
		zg_keccak_update(&k, word, 32);
	}
	zg_keccak_final(&k, out);
	return ZG_OK;
}

/* Derives EIP712Domain from the fields present in domain, when "types"
 * does not declare it. Unknown domain fields are rejected. */
static zg_err
derive_domain_type(ctx *c, const json_t *domain, field *fields)
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

zg_err
zg_eip712_hashes(const json_t *typed_data, uint8_t domain_sep[32],
    uint8_t message_hash[32], zg_errmsg *em)
{
	static const char *const top_fields[] = {"types", "primaryType",
	    "domain", "message", NULL};
	zg_err err = ZG_ERR_INTERNAL;
	field derived[5];
	size_t ndeclared = 0;
	ctx *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	c->em = em;
	if (!json_is_object(typed_data)) {
		err = zg_fail(em, ZG_ERR_INVALID, "typed data must be an object "
		    "{\"types\", \"primaryType\", \"domain\", \"message\"}");
		goto out;
	}
	if ((err = zg_json_only_keys(typed_data, top_fields, em)) != ZG_OK)
		goto out;
	for (const char *const *f = top_fields; *f != NULL; f++) {
		if (json_object_get(typed_data, *f) == NULL) {
			err = zg_fail(em, ZG_ERR_INVALID, "typed data: missing "
			    "field \"%s\"", *f);
			goto out;
		}
	}
	err = load_types(c, json_object_get(typed_data, "types"));
	ndeclared = c->ntypes;
	if (err != ZG_OK)
		goto out;

	const json_t *domain = json_object_get(typed_data, "domain");
	if (!json_is_object(domain)) {
		err = zg_fail(em, ZG_ERR_INVALID, "typed data: \"domain\" must "
		    "be an object");
		goto out;
	}
	stype *dt = find_type(c, "EIP712Domain", 12);
	if (dt == NULL) {
		if ((err = derive_domain_type(c, domain, derived)) != ZG_OK)
			goto out;
		dt = &c->types[c->ntypes - 1];
	}

	const json_t *primary = json_object_get(typed_data, "primaryType");
	if (!json_is_string(primary)) {
		err = zg_fail(em, ZG_ERR_INVALID, "typed data: \"primaryType\" "
		    "must be a string");
		goto out;
	}
	const char *pname = json_string_value(primary);
	stype *pt = find_type(c, pname, strlen(pname));
	if (pt == NULL || pt == dt) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(pname, q, sizeof(q));
		err = zg_fail(em, ZG_ERR_INVALID, "typed data: \"primaryType\" "
		    "\"%s\" must name a struct declared in \"types\" other "
		    "than EIP712Domain", q);
		goto out;
	}

	if ((err = hash_struct(c, dt, domain, "domain", domain_sep)) != ZG_OK)
		goto out;
	if ((err = hash_struct(c, pt, json_object_get(typed_data, "message"),
	    "message", message_hash)) != ZG_OK)
		goto out;

	/* success */
	err = ZG_OK;
out:
	for (size_t i = 0; i < ndeclared; i++)
		free(c->types[i].fields);
	free(c);
	return err;
}

zg_err
zg_eip712_digest(const json_t *typed_data, uint8_t out[32], zg_errmsg *em)
{
	zg_err err;
	uint8_t msg[66] = {0x19, 0x01};
	if ((err = zg_eip712_hashes(typed_data, msg + 2, msg + 34, em)) != ZG_OK)
		return err;
	zg_keccak256(msg, sizeof(msg), out);
	return ZG_OK;
}
