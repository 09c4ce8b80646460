/*
 * A minimal Ethereum JSON-RPC 2.0 client over HTTP(S), and transaction
 * simulation built on it.
 *
 * One zg_rpc handle talks to one node endpoint for one short task. The
 * total timeout bounds all requests made through the handle together, so
 * a simulation of four requests cannot take four times the limit. The
 * client sends POST requests with libcurl, allows only http and https,
 * follows no redirects, ignores proxy settings from the environment and
 * aborts a response above the size limit.
 *
 * Errors: a node that cannot be reached, times out, returns an HTTP
 * status other than 200, sends malformed JSON or a result of the wrong
 * shape gets ZG_ERR_UPSTREAM. The message names the endpoint without the
 * user name, password, path and query of its URL, because providers put
 * API keys there. A JSON-RPC error object that reports an execution
 * failure (a revert, or a code outside -32700 .. -32600) is a result, not
 * an upstream failure, and is returned in a zg_rpc_error.
 */
#ifndef ZG_CHAIN_RPC_H
#define ZG_CHAIN_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "chain/chain.h"

#define ZG_RPC_DEFAULT_CONNECT_TIMEOUT_MS 3000
#define ZG_RPC_DEFAULT_TIMEOUT_MS 10000
#define ZG_RPC_DEFAULT_MAX_RESPONSE_BYTES (1024 * 1024)

/* Limits of one handle; zero selects the default. */
typedef struct zg_rpc_options {
	long connect_timeout_ms;     /* per connection attempt */
	long timeout_ms;             /* all requests of the handle together */
	size_t max_response_bytes;   /* per response body */
} zg_rpc_options;

typedef struct zg_rpc zg_rpc;

/*
 * An execution failure the node reported as a JSON-RPC error object.
 * has_data is true when the node sent revert data as hex. Nodes put it in
 * "data", or in "data" or "result" inside a "data" object. data is NULL
 * when that hex was "0x". message is the node's text, cut to fit, with
 * bytes outside printable ASCII as \xNN.
 */
typedef struct zg_rpc_error {
	bool set;
	long long code;
	char message[160];
	bool has_data;
	uint8_t *data;
	size_t data_len;
} zg_rpc_error;

/* Frees data and leaves e empty. */
void zg_rpc_error_clear(zg_rpc_error *e);

/*
 * Writes n bytes of text that a node or a contract chose into out, for
 * messages and logs: printable ASCII as is, other bytes as \xNN, and "..."
 * at the end when out is too small. outsz must be at least 4.
 */
void zg_rpc_escape_text(const uint8_t *s, size_t n, char *out, size_t outsz);

/*
 * Creates a handle for endpoint, an http:// or https:// URL; opts may be
 * NULL. The total timeout starts now. Another scheme or an unparsable URL
 * gets ZG_ERR_CONFIG. The caller frees *out with zg_rpc_free.
 */
zg_err zg_rpc_open(const char *endpoint, const zg_rpc_options *opts,
    zg_rpc **out, zg_errmsg *em);

/* Frees the handle and wipes the URL it kept. NULL is accepted. */
void zg_rpc_free(zg_rpc *rpc);

/*
 * Returns the endpoint as messages show it: scheme, host and port, with
 * "/..." when the URL had a path or query.
 */
const char *zg_rpc_endpoint_name(const zg_rpc *rpc);

/* Sends eth_chainId. */
zg_err zg_rpc_chain_id(zg_rpc *rpc, zg_u256 *out, zg_errmsg *em);

/* Sends eth_getBalance for address at the "latest" block. */
zg_err zg_rpc_get_balance(zg_rpc *rpc, const uint8_t address[20],
    zg_u256 *out, zg_errmsg *em);

/*
 * Sends eth_call for tx from the address from at the "latest" block. The
 * call object carries to (absent for contract creation), data, value, the
 * gas limit and fee fields when they are not zero, and the access list of
 * types 1 and 2. On ZG_OK either *ret contains the return data (the caller
 * frees it; NULL when empty) or, when the call failed, fault is set and
 * *ret is NULL.
 */
zg_err zg_rpc_call(zg_rpc *rpc, const zg_tx *tx, const uint8_t from[20],
    uint8_t **ret, size_t *ret_len, zg_rpc_error *fault, zg_errmsg *em);

/*
 * Sends eth_estimateGas with the call object of zg_rpc_call. On ZG_OK
 * either *gas is the estimate or fault is set. An estimate above
 * 2^64-1 gets ZG_ERR_UPSTREAM.
 */
zg_err zg_rpc_estimate_gas(zg_rpc *rpc, const zg_tx *tx,
    const uint8_t from[20], uint64_t *gas, zg_rpc_error *fault,
    zg_errmsg *em);

/* ---- simulation ---- */

/* Maximum length of a revert reason, with its NUL. */
#define ZG_SIM_REASON_MAX 320

typedef enum zg_sim_error_kind {
	ZG_SIM_OK = 0,            /* the call succeeded */
	ZG_SIM_REVERT_MESSAGE,    /* Error(string) */
	ZG_SIM_REVERT_PANIC,      /* Panic(uint256) */
	ZG_SIM_REVERT_CUSTOM,     /* another selector: a custom error */
	ZG_SIM_REVERT_EMPTY,      /* reverted without data */
	ZG_SIM_REVERT_MALFORMED,  /* a known selector with invalid arguments,
	                             or fewer than 4 bytes */
	ZG_SIM_NODE_ERROR,        /* a failure without revert data, such as
	                             out of gas or insufficient funds */
} zg_sim_error_kind;

/* A decoded revert. */
typedef struct zg_revert {
	zg_sim_error_kind kind;
	uint8_t selector[4];      /* when 4 or more bytes came */
	zg_u256 panic_code;       /* ZG_SIM_REVERT_PANIC only */
	/*
	 * The text for people: the Error(string) message, or for example
	 * "Panic(0x12): division or modulo by zero" or "custom error
	 * 0x7e46dab6". Bytes outside printable ASCII appear as \xNN, and a
	 * cut text ends with "...".
	 */
	char reason[ZG_SIM_REASON_MAX];
} zg_revert;

/*
 * Decodes revert data: Error(string) (selector 0x08c379a0), Panic(uint256)
 * (0x4e487b71) or any other selector as a custom error. Empty data gives
 * ZG_SIM_REVERT_EMPTY. An Error(string) whose offset or length points
 * outside data, or a Panic without its 32-byte code, gives
 * ZG_SIM_REVERT_MALFORMED. Has no error return: every input gets a kind.
 */
void zg_revert_decode(const uint8_t *data, size_t len, zg_revert *out);

/*
 * Returns what a Solidity panic code means, for example "division or
 * modulo by zero" for 0x12, or "unknown panic code".
 */
const char *zg_panic_meaning(const zg_u256 *code);

/* The outcome of zg_simulate. */
typedef struct zg_sim_result {
	bool success;                 /* eth_call and eth_estimateGas passed */
	bool has_gas_estimate;
	uint64_t gas_estimate;
	bool balance_sufficient;
	zg_u256 balance;              /* of from, in wei */
	zg_u256 required;             /* value + gas limit * fee cap, in wei */
	zg_revert revert;             /* kind ZG_SIM_OK on success */
} zg_sim_result;

/*
 * Simulates tx as sent from the address from against the node at
 * endpoint: checks that eth_chainId matches tx->chain_id, reads the
 * balance, runs eth_call and, when the call succeeded, eth_estimateGas.
 *
 * The balance check requires balance >= value + gas * fee cap
 * (zg_tx_fee_cap), because a node rejects a transaction whose sender
 * cannot pay for the whole gas limit up front, whatever it then uses. The
 * gas is tx->gas, or the estimate when tx->gas is zero; when the call
 * failed and tx->gas is zero, only the value counts. A sum above
 * 2^256-1 counts as not covered, and required is then 2^256-1.
 *
 * Returns ZG_OK when the node answered every request, whether or not the
 * call succeeded. A node on another chain, an unreachable or slow node,
 * and malformed answers get ZG_ERR_UPSTREAM; a bad endpoint URL gets
 * ZG_ERR_CONFIG. opts may be NULL.
 */
zg_err zg_simulate(const zg_tx *tx, const uint8_t from[20],
    const char *endpoint, const zg_rpc_options *opts, zg_sim_result *result,
    zg_errmsg *em);

#endif
