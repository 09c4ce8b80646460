/*
 * Private to chain/eip712.c and chain/eip712_types.c: the struct types of
 * one typed-data document as eip712_types.c checks them, and the steps of
 * the type side that the value encoding in eip712.c calls.
 */
#ifndef ZG_CHAIN_EIP712_INTERNAL_H
#define ZG_CHAIN_EIP712_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/errmsg.h"

/* NOTE: this limit is ours, not EIP-712's. It bounds the quadratic type
 * checks on hostile input, and 256 structs is a guess at ample room. */
#define MAX_TYPES 256

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

enum atomic { NOT_ATOMIC, T_BOOL, T_ADDRESS, T_STRING, T_BYTES, T_BYTES_N,
	T_UINT, T_INT };

/* Parses a decimal size in [lo, hi] without leading zeros, filling *out. */
bool zg_eip712_parse_size(const char *s, size_t n, size_t lo, size_t hi,
    size_t *out);

/* Classifies a type name of n bytes; *size is N of bytesN, uintN, intN. */
enum atomic zg_eip712_atomic_kind(const char *t, size_t n, size_t *size);

/* Returns the declared struct named by the n bytes at name, or NULL. */
stype *zg_eip712_find_type(ctx *c, const char *name, size_t n);

/*
 * Loads the struct definitions of "types" into c and checks them in full:
 * names, field types, and that no struct reaches itself. Fails with
 * ZG_ERR_INVALID and a message in c->em.
 */
zg_err zg_eip712_load_types(ctx *c, const json_t *types);

/* Computes st's typeHash into st->type_hash once. */
zg_err zg_eip712_type_hash(ctx *c, stype *st);

/*
 * Appends an EIP712Domain type made of the fields present in domain to
 * c->types, when "types" does not declare one. fields is the caller's
 * storage for up to 5 fields and must outlive c.
 */
zg_err zg_eip712_derive_domain_type(ctx *c, const json_t *domain,
    field *fields);

#endif
