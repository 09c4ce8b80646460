/*
 * Ethereum encodings: 256-bit integers from JSON, RLP, transactions of
 * types 0, 1 and 2, EIP-191 personal messages, EIP-712 typed data and
 * ERC-20 calldata.
 *
 * Nothing here signs or touches key material. The signer takes the digest
 * from zg_tx_signing_hash, zg_eth_personal_digest or zg_eip712_digest,
 * signs it, and gives r||s and the recovery id back to zg_tx_encode_signed
 * when the digest was a transaction's.
 *
 * Every parser rejects what it does not understand with ZG_ERR_INVALID and
 * a message that names the field and quotes the value (zg_quote_value).
 * Hex byte strings and addresses start with "0x" in lower case, as
 * JSON-RPC writes them.
 */
#ifndef ZG_CHAIN_CHAIN_H
#define ZG_CHAIN_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/errmsg.h"

/* ---- 256-bit unsigned integers ---- */

/* An unsigned 256-bit integer: four 64-bit limbs, least significant first. */
typedef struct zg_u256 {
	uint64_t w[4];
} zg_u256;

/* Decimal digits of 2^256-1 (78) and a NUL. */
#define ZG_U256_DEC_LEN 79

/* Largest JSON number accepted as an integer: 2^53 - 1, beyond which
 * JavaScript clients lose precision without noticing. */
#define ZG_JSON_SAFE_INT_MAX 9007199254740991LL

void zg_u256_from_u64(zg_u256 *r, uint64_t v);
bool zg_u256_is_zero(const zg_u256 *a);
/* Returns -1, 0 or 1 as a is below, equal to or above b. */
int zg_u256_cmp(const zg_u256 *a, const zg_u256 *b);
/* Sets *out and returns true if a fits in 64 bits. */
bool zg_u256_to_u64(const zg_u256 *a, uint64_t *out);

/*
 * Arithmetic modulo 2^256. Each returns true when the exact result did
 * not fit: a carry out of add and mul_u64, or a borrow out of sub. r may
 * alias a or b.
 */
bool zg_u256_add(zg_u256 *r, const zg_u256 *a, const zg_u256 *b);
bool zg_u256_sub(zg_u256 *r, const zg_u256 *a, const zg_u256 *b);
bool zg_u256_mul_u64(zg_u256 *r, const zg_u256 *a, uint64_t m);

/* Writes a as 32 big-endian bytes. */
void zg_u256_to_be(const zg_u256 *a, uint8_t out[32]);
/* Reads up to 32 big-endian bytes; ZG_ERR_INVALID if len > 32. */
zg_err zg_u256_from_be(zg_u256 *r, const uint8_t *in, size_t len);
/*
 * Writes a big-endian with no leading zero bytes, as RLP stores integers,
 * to the start of out and returns the length (0 for zero).
 */
size_t zg_u256_to_be_min(const zg_u256 *a, uint8_t out[32]);
/* Writes a in decimal with a NUL. */
void zg_u256_to_dec(const zg_u256 *a, char out[ZG_U256_DEC_LEN]);

/*
 * Parses a decimal string or a "0x" hex string (any number of digits,
 * leading zeros allowed, "0x" alone is not a number). field names the
 * value in the error message.
 */
zg_err zg_u256_parse(const char *s, const char *field, zg_u256 *out,
    zg_errmsg *em);

/*
 * Reads an integer from a JSON value: a string as zg_u256_parse takes it,
 * or a JSON integer in 0 .. ZG_JSON_SAFE_INT_MAX. Negative numbers,
 * fractions and values above 2^256-1 get ZG_ERR_INVALID.
 */
zg_err zg_u256_from_json(const json_t *v, const char *field, zg_u256 *out,
    zg_errmsg *em);

/*
 * Decodes a "0x" hex string of even length into a new buffer that the
 * caller frees; "0x" alone gives *out = NULL and *len = 0.
 */
zg_err zg_chain_hex_decode(const char *s, const char *field, uint8_t **out,
    size_t *len, zg_errmsg *em);

/* Decodes a "0x" hex string of exactly len bytes into out. */
zg_err zg_chain_hex_decode_fixed(const char *s, const char *field,
    uint8_t *out, size_t len, zg_errmsg *em);

/*
 * Parses an address, "0x" and 40 hex digits, with zg_eth_address_parse:
 * all lower or all upper case as is, mixed case only with a valid EIP-55
 * checksum. The message distinguishes a malformed address from a bad
 * checksum.
 */
zg_err zg_chain_address_parse(const char *s, const char *field,
    uint8_t out[20], zg_errmsg *em);

/* ---- RLP (Ethereum Yellow Paper, appendix B) ---- */

/* Appends the encoding of the byte string p[0..n). */
zg_err zg_rlp_put_bytes(zg_buf *b, const uint8_t *p, size_t n);
/* Appends an integer as a byte string without leading zeros. */
zg_err zg_rlp_put_u256(zg_buf *b, const zg_u256 *v);
zg_err zg_rlp_put_u64(zg_buf *b, uint64_t v);
/* Appends the header of a list whose encoded items take payload_len
 * bytes; the caller appends the items next. */
zg_err zg_rlp_put_list_header(zg_buf *b, size_t payload_len);
/* Appends payload (already encoded items) wrapped as one list. */
zg_err zg_rlp_put_list(zg_buf *b, const zg_buf *payload);

/* One decoded item; data points into the input. For a list, data and len
 * are the payload, which zg_rlp_next walks. */
typedef struct zg_rlp_item {
	bool is_list;
	const uint8_t *data;
	size_t len;
} zg_rlp_item;

/*
 * Decodes the item at the start of in and sets *used to its encoded
 * length. Only the canonical encoding is accepted: a single byte below
 * 0x80 is never wrapped, lengths use the short form up to 55 bytes and no
 * leading zero bytes otherwise, and every length stays within in.
 * Anything else gets ZG_ERR_INVALID.
 */
zg_err zg_rlp_decode(const uint8_t *in, size_t len, zg_rlp_item *item,
    size_t *used);

/* Decodes in as exactly one item; trailing bytes get ZG_ERR_INVALID. */
zg_err zg_rlp_decode_one(const uint8_t *in, size_t len, zg_rlp_item *item);

/*
 * Decodes the next item of a list payload and advances *p and *left.
 * Returns ZG_ERR_NOT_FOUND at the end of the payload.
 */
zg_err zg_rlp_next(const uint8_t **p, size_t *left, zg_rlp_item *item);

/* Reads a byte-string item as an integer: at most 32 bytes, no leading
 * zero byte (zero is the empty string). ZG_ERR_INVALID otherwise. */
zg_err zg_rlp_item_u256(const zg_rlp_item *item, zg_u256 *out);

/* ---- transactions ---- */

typedef struct zg_access_entry {
	uint8_t address[20];
	uint8_t (*storage_keys)[32];
	size_t nkeys;
} zg_access_entry;

/*
 * A transaction request. Type 0 is legacy with EIP-155 replay protection,
 * type 1 is EIP-2930 (access list), type 2 is EIP-1559 (fee market).
 * gas_price is set for types 0 and 1; max_fee_per_gas and
 * max_priority_fee_per_gas for type 2 only.
 */
typedef struct zg_tx {
	int type;
	zg_u256 chain_id;
	zg_u256 nonce;
	zg_u256 gas;                    /* the gas limit */
	zg_u256 gas_price;
	zg_u256 max_fee_per_gas;
	zg_u256 max_priority_fee_per_gas;
	bool has_to;                    /* false: contract creation */
	uint8_t to[20];
	zg_u256 value;                  /* in wei */
	uint8_t *data;                  /* NULL when empty */
	size_t data_len;
	zg_access_entry *access_list;   /* types 1 and 2 */
	size_t access_len;
} zg_tx;

/*
 * Parses a request object {"chainId","type","nonce","to","value","data",
 * "gas","gasPrice"}, with "maxFeePerGas" and "maxPriorityFeePerGas" in
 * place of "gasPrice" for type 2 and an optional "accessList" for types
 * 1 and 2. "value" and "data" default to zero and empty; an absent or
 * null "to" creates a contract. Unknown fields, fields of another type,
 * chain id 0 and a priority fee above the fee cap get ZG_ERR_INVALID.
 * On success the caller frees tx with zg_tx_free; on failure tx is empty.
 */
zg_err zg_tx_parse(const json_t *req, zg_tx *tx, zg_errmsg *em);

/* Writes the digest the sender signs: Keccak-256 of the EIP-155 list for
 * type 0, of 0x01 or 0x02 and the RLP list for types 1 and 2. */
zg_err zg_tx_signing_hash(const zg_tx *tx, uint8_t out[32]);

/*
 * Appends the signed raw transaction for signature r||s and recovery id
 * recid (0 or 1) to raw and writes its hash, Keccak-256 of those bytes,
 * which is the transaction hash nodes report. Type 0 carries
 * v = chain_id * 2 + 35 + recid in full 256-bit arithmetic, types 1 and 2
 * carry recid as yParity.
 */
zg_err zg_tx_encode_signed(const zg_tx *tx, const uint8_t sig[64], int recid,
    zg_buf *raw, uint8_t hash[32]);

/* Returns the maximum fee per gas the sender pays: gasPrice, or
 * maxFeePerGas for type 2. */
const zg_u256 *zg_tx_fee_cap(const zg_tx *tx);

/* Frees what zg_tx_parse allocated and leaves tx empty. */
void zg_tx_free(zg_tx *tx);

/* ---- EIP-191 personal messages ---- */

/*
 * Parses {"message", "encoding"}: encoding "utf8" (the default) takes the
 * message as UTF-8 text, "hex" as "0x" hex bytes. On success the caller
 * frees *msg (NULL for an empty message).
 */
zg_err zg_eth_message_parse(const json_t *req, uint8_t **msg, size_t *len,
    zg_errmsg *em);

/* ---- EIP-712 typed structured data ---- */

/*
 * Writes Keccak-256(0x19 0x01 || domainSeparator || hashStruct(message))
 * for {"types","primaryType","domain","message"}.
 *
 * If types has no "EIP712Domain", the domain type is derived from the
 * fields present in domain, in the order name, version, chainId,
 * verifyingContract, salt, as ethers 6 does. Missing types, type
 * cycles, malformed type names, values that do not fit their type and
 * missing or unknown fields get ZG_ERR_INVALID with the path of the value.
 */
zg_err zg_eip712_digest(const json_t *typed_data, uint8_t out[32],
    zg_errmsg *em);

/* Writes the domain separator and hashStruct(message) separately, for
 * tests and audit records. */
zg_err zg_eip712_hashes(const json_t *typed_data, uint8_t domain_sep[32],
    uint8_t message_hash[32], zg_errmsg *em);

/* ---- ERC-20 calldata ---- */

typedef enum zg_erc20_kind {
	ZG_ERC20_NONE = 0,         /* not one of the calls below */
	ZG_ERC20_TRANSFER,         /* transfer(address to, uint256 amount) */
	ZG_ERC20_APPROVE,          /* approve(address spender, uint256 amount) */
	ZG_ERC20_TRANSFER_FROM,    /* transferFrom(address from, address to, uint256) */
} zg_erc20_kind;

typedef struct zg_erc20_call {
	zg_erc20_kind kind;
	uint8_t from[20];          /* transferFrom only */
	uint8_t target[20];        /* the recipient, or the spender for approve */
	zg_u256 amount;
	bool trailing_data;        /* bytes follow the last argument */
} zg_erc20_call;

/*
 * Decodes transaction data as an ERC-20 call by its 4-byte selector.
 * Other selectors and data shorter than 4 bytes give ZG_OK with kind
 * ZG_ERC20_NONE. A known selector with short arguments or an address word
 * whose top 12 bytes are not zero gets ZG_ERR_INVALID, so a policy never
 * judges calldata that it cannot read exactly.
 */
zg_err zg_erc20_decode(const uint8_t *data, size_t len, zg_erc20_call *out);

#endif
