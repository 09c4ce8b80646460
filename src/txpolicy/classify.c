/*
 * Classification: turns a transaction, a personal message or typed data
 * into the zg_txfacts that rules and limits match on. What each kind
 * means is documented in txpolicy.h.
 */
#include <string.h>

#include "txpolicy/txpolicy_internal.h"

/* True if an approval of amount counts as unlimited under p. */
static bool
approval_unlimited(const zg_u256 *amount, const zg_txpolicy *p)
{
	zg_u256 all_ones;
	memset(&all_ones, 0xff, sizeof(all_ones));
	if (zg_u256_cmp(amount, &all_ones) == 0)
		return true;
	return p != NULL && p->has_ceiling &&
	    zg_u256_cmp(amount, &p->ceiling) > 0;
}

zg_err
zg_txfacts_from_tx(const zg_tx *tx, const zg_txpolicy *policy,
    zg_txfacts *out, zg_errmsg *em)
{
	zg_erc20_call call;
	memset(out, 0, sizeof(*out));
	out->has_chain_id = true;
	out->chain_id = tx->chain_id;
	out->has_fees = true;
	out->fee_cap = *zg_tx_fee_cap(tx);
	out->gas = tx->gas;
	out->native_value = tx->value;
	out->has_amount = true;
	out->asset_native = true;
	out->amount = tx->value;

	/* Creation data is init code, so it has no selector. */
	if (!tx->has_to) {
		out->kind = ZG_TXKIND_CONTRACT_CREATION;
		return ZG_OK;
	}
	if (tx->data_len >= 4) {
		out->has_selector = true;
		memcpy(out->selector, tx->data, 4);
	}
	out->has_to = true;
	memcpy(out->to, tx->to, 20);
	out->has_destination = true;
	memcpy(out->destination, tx->to, 20);
	if (tx->data_len == 0) {
		out->kind = ZG_TXKIND_NATIVE_TRANSFER;
		return ZG_OK;
	}

	if (zg_erc20_decode(tx->data, tx->data_len, &call) != ZG_OK)
		return zg_fail(em, ZG_ERR_INVALID, "field \"data\" starts with "
		    "an ERC-20 selector (0x%02x%02x%02x%02x) but its arguments "
		    "are malformed: too short, or an address word with nonzero "
		    "upper bytes", tx->data[0], tx->data[1], tx->data[2],
		    tx->data[3]);
	switch (call.kind) {
	case ZG_ERC20_TRANSFER:
		out->kind = ZG_TXKIND_ERC20_TRANSFER;
		break;
	case ZG_ERC20_APPROVE:
		out->kind = approval_unlimited(&call.amount, policy) ?
		    ZG_TXKIND_ERC20_UNLIMITED_APPROVE : ZG_TXKIND_ERC20_APPROVE;
		break;
	case ZG_ERC20_TRANSFER_FROM:
		out->kind = ZG_TXKIND_ERC20_TRANSFER_FROM;
		break;
	default:
		out->kind = ZG_TXKIND_CONTRACT_CALL;
		return ZG_OK;
	}
	/* The token moves to (or may be spent by) the call's target, and
	 * the contract called is the asset. */
	memcpy(out->destination, call.target, 20);
	out->amount = call.amount;
	out->asset_native = false;
	memcpy(out->asset, tx->to, 20);
	return ZG_OK;
}

void
zg_txfacts_from_message(zg_txfacts *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = ZG_TXKIND_PERSONAL_MESSAGE;
}

zg_err
zg_txfacts_from_typed_data(const json_t *typed_data, zg_txfacts *out,
    zg_errmsg *em)
{
	zg_err err;
	memset(out, 0, sizeof(*out));
	out->kind = ZG_TXKIND_TYPED_DATA;

	const json_t *domain = json_object_get(typed_data, "domain");
	if (domain == NULL)
		return ZG_OK;
	if (!json_is_object(domain))
		return zg_fail(em, ZG_ERR_INVALID, "field \"domain\" must be a "
		    "JSON object");
	const json_t *chain = json_object_get(domain, "chainId");
	if (chain != NULL) {
		if ((err = zg_u256_from_json(chain, "domain.chainId",
		    &out->chain_id, em)) != ZG_OK)
			return err;
		out->has_chain_id = true;
	}
	const json_t *contract = json_object_get(domain, "verifyingContract");
	if (contract != NULL) {
		if (!json_is_string(contract))
			return zg_fail(em, ZG_ERR_INVALID, "field "
			    "\"domain.verifyingContract\" must be an address "
			    "string");
		if ((err = zg_chain_address_parse(json_string_value(contract),
		    "domain.verifyingContract", out->destination,
		    em)) != ZG_OK)
			return err;
		out->has_destination = true;
	}
	return ZG_OK;
}
