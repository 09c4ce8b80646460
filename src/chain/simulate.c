/*
 * Transaction simulation before signing, and decoding of revert data.
 *
 * Solidity reverts with one of three ABI encodings:
 *
 *   Error(string)    08c379a0 | offset (32) | ... | length (32) | bytes
 *   Panic(uint256)   4e487b71 | code (32)
 *   custom error     selector | ABI-encoded arguments
 *
 * The selector is the first 4 bytes of Keccak-256 of the signature. The
 * offset of Error(string) counts from the end of the selector.
 */
#include "chain/rpc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/codec.h"

static const uint8_t error_selector[4] = {0x08, 0xc3, 0x79, 0xa0};
static const uint8_t panic_selector[4] = {0x4e, 0x48, 0x7b, 0x71};

/* Solidity's panic codes, as enum PanicCode in libsolutil/ErrorCodes.h
 * of the Solidity compiler sources lists them. */
static const struct {
	uint64_t code;
	const char *meaning;
} panic_codes[] = {
	{0x00, "generic compiler panic"},
	{0x01, "assert failed"},
	{0x11, "arithmetic overflow or underflow"},
	{0x12, "division or modulo by zero"},
	{0x21, "conversion to an invalid enum value"},
	{0x22, "incorrectly encoded storage byte array"},
	{0x31, "pop() on an empty array"},
	{0x32, "array index out of bounds"},
	{0x41, "too much memory allocated"},
	{0x51, "call to a zero-initialized internal function"},
};

const char *
zg_panic_meaning(const zg_u256 *code)
{
	uint64_t c;

	if (!zg_u256_to_u64(code, &c))
		return "unknown panic code";
	for (size_t i = 0; i < sizeof(panic_codes) / sizeof(panic_codes[0]);
	    i++)
		if (panic_codes[i].code == c)
			return panic_codes[i].meaning;
	return "unknown panic code";
}

/*
 * Reads a 32-byte ABI word as a size. Returns false when it does not fit
 * in 64 bits, so no later addition with it can wrap.
 */
static bool
abi_word_size(const uint8_t *word, uint64_t *out)
{
	zg_u256 v;

	(void)zg_u256_from_be(&v, word, 32);
	return zg_u256_to_u64(&v, out) && *out <= SIZE_MAX;
}

/* Decodes the argument of Error(string); args has args_len bytes. */
static void
decode_error_string(const uint8_t *args, size_t args_len, zg_revert *out)
{
	uint64_t offset, len;

	if (args_len < 32 || !abi_word_size(args, &offset) ||
	    offset > args_len - 32 ||
	    !abi_word_size(args + offset, &len) ||
	    len > args_len - offset - 32) {
		out->kind = ZG_SIM_REVERT_MALFORMED;
		snprintf(out->reason, sizeof(out->reason), "Error(string) "
		    "with an offset or length outside its %zu bytes of "
		    "arguments", args_len);
		return;
	}
	out->kind = ZG_SIM_REVERT_MESSAGE;
	zg_rpc_escape_text(args + offset + 32, (size_t)len, out->reason,
	    sizeof(out->reason));
}

/* Writes code in hex with at least two digits, as Solidity shows it. */
static void
panic_code_hex(const zg_u256 *code, char *out, size_t outsz)
{
	uint8_t be[32];
	char hex[65];
	uint64_t small;

	if (zg_u256_to_u64(code, &small)) {
		snprintf(out, outsz, "0x%02" PRIx64, small);
		return;
	}
	size_t n = zg_u256_to_be_min(code, be);
	zg_hex_encode(be, n, hex);
	snprintf(out, outsz, "0x%s", hex);
}

void
zg_revert_decode(const uint8_t *data, size_t len, zg_revert *out)
{
	char code_hex[2 + 64 + 1];

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		out->kind = ZG_SIM_REVERT_EMPTY;
		snprintf(out->reason, sizeof(out->reason),
		    "reverted without a reason");
		return;
	}
	if (len < 4) {
		out->kind = ZG_SIM_REVERT_MALFORMED;
		snprintf(out->reason, sizeof(out->reason), "revert data of %zu "
		    "bytes is too short for a selector", len);
		return;
	}
	memcpy(out->selector, data, 4);

	if (memcmp(data, error_selector, 4) == 0) {
		decode_error_string(data + 4, len - 4, out);
	} else if (memcmp(data, panic_selector, 4) == 0) {
		if (len < 4 + 32) {
			out->kind = ZG_SIM_REVERT_MALFORMED;
			snprintf(out->reason, sizeof(out->reason),
			    "Panic(uint256) without its 32-byte code");
			return;
		}
		out->kind = ZG_SIM_REVERT_PANIC;
		(void)zg_u256_from_be(&out->panic_code, data + 4, 32);
		panic_code_hex(&out->panic_code, code_hex, sizeof(code_hex));
		snprintf(out->reason, sizeof(out->reason), "Panic(%s): %s",
		    code_hex, zg_panic_meaning(&out->panic_code));
	} else {
		out->kind = ZG_SIM_REVERT_CUSTOM;
		snprintf(out->reason, sizeof(out->reason), "custom error "
		    "0x%02x%02x%02x%02x with %zu bytes of arguments",
		    data[0], data[1], data[2], data[3], len - 4);
	}
}

/* Turns the error object of eth_call or eth_estimateGas into a revert. */
static void
fault_to_revert(const zg_rpc_error *fault, zg_revert *out)
{
	if (fault->has_data) {
		zg_revert_decode(fault->data, fault->data_len, out);
		return;
	}
	/* Without data, only the message distinguishes a revert (geth:
	 * "execution reverted") from other failures such as out of gas. */
	if (strcasestr(fault->message, "revert") != NULL) {
		zg_revert_decode(NULL, 0, out);
		return;
	}
	memset(out, 0, sizeof(*out));
	out->kind = ZG_SIM_NODE_ERROR;
	snprintf(out->reason, sizeof(out->reason), "node error %lld: %s",
	    fault->code, fault->message);
}

/*
 * Sets required = value + gas * fee cap, saturating at 2^256-1, and
 * whether the balance covers it.
 */
static void
check_balance(const zg_tx *tx, uint64_t gas, zg_sim_result *result)
{
	zg_u256 fee;
	bool overflow = zg_u256_mul_u64(&fee, zg_tx_fee_cap(tx), gas);

	overflow |= zg_u256_add(&result->required, &tx->value, &fee);
	if (overflow)
		memset(&result->required, 0xff, sizeof(result->required));
	result->balance_sufficient = !overflow &&
	    zg_u256_cmp(&result->balance, &result->required) >= 0;
}

zg_err
zg_simulate(const zg_tx *tx, const uint8_t from[20], const char *endpoint,
    const zg_rpc_options *opts, zg_sim_result *result, zg_errmsg *em)
{
	zg_rpc *rpc = NULL;
	zg_rpc_error fault = {0};
	uint8_t *ret = NULL;
	size_t ret_len = 0;
	zg_u256 chain_id;
	char node_dec[ZG_U256_DEC_LEN], tx_dec[ZG_U256_DEC_LEN];
	zg_err err;

	memset(result, 0, sizeof(*result));
	if ((err = zg_rpc_open(endpoint, opts, &rpc, em)) != ZG_OK)
		goto out;

	/* A node of another chain would judge the transaction against the
	 * wrong state. */
	if ((err = zg_rpc_chain_id(rpc, &chain_id, em)) != ZG_OK)
		goto out;
	if (zg_u256_cmp(&chain_id, &tx->chain_id) != 0) {
		zg_u256_to_dec(&chain_id, node_dec);
		zg_u256_to_dec(&tx->chain_id, tx_dec);
		err = zg_fail(em, ZG_ERR_UPSTREAM, "the node at %s serves chain "
		    "id %s, but the transaction is for chain id %s; check the "
		    "RPC endpoint configured for that chain",
		    zg_rpc_endpoint_name(rpc), node_dec, tx_dec);
		goto out;
	}
	if ((err = zg_rpc_get_balance(rpc, from, &result->balance, em)) !=
	    ZG_OK)
		goto out;

	if ((err = zg_rpc_call(rpc, tx, from, &ret, &ret_len, &fault, em)) !=
	    ZG_OK)
		goto out;
	if (fault.set) {
		fault_to_revert(&fault, &result->revert);
	} else {
		if ((err = zg_rpc_estimate_gas(rpc, tx, from,
		    &result->gas_estimate, &fault, em)) != ZG_OK)
			goto out;
		if (fault.set) {
			fault_to_revert(&fault, &result->revert);
		} else {
			result->has_gas_estimate = true;
			result->success = true;
		}
	}

	/* The sender must cover the gas limit. Without one the estimate is
	 * used, and without either only the value counts. */
	uint64_t gas = result->gas_estimate;
	if (!zg_u256_is_zero(&tx->gas) && !zg_u256_to_u64(&tx->gas, &gas))
		gas = UINT64_MAX;
	check_balance(tx, gas, result);
	/* success */
	err = ZG_OK;
out:
	zg_rpc_error_clear(&fault);
	free(ret);
	zg_rpc_free(rpc);
	return err;
}
