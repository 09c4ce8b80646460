/*
 * ERC-20 calldata: a 4-byte selector, the first four bytes of the
 * Keccak-256 of the function signature, then one 32-byte ABI word per
 * argument (addresses right-aligned, amounts big-endian).
 */
#include "chain/chain.h"

#include <string.h>

static const struct {
	uint8_t selector[4];
	zg_erc20_kind kind;
	size_t nargs;
} erc20_calls[] = {
	{{0xa9, 0x05, 0x9c, 0xbb}, ZG_ERC20_TRANSFER, 2},      /* transfer(address,uint256) */
	{{0x09, 0x5e, 0xa7, 0xb3}, ZG_ERC20_APPROVE, 2},       /* approve(address,uint256) */
	{{0x23, 0xb8, 0x72, 0xdd}, ZG_ERC20_TRANSFER_FROM, 3}, /* transferFrom(address,address,uint256) */
};

/* Reads an address word: 12 zero bytes, then the address. */
static zg_err
read_address(const uint8_t word[32], uint8_t out[20])
{
	for (int i = 0; i < 12; i++) {
		if (word[i] != 0)
			return ZG_ERR_INVALID;
	}
	memcpy(out, word + 12, 20);
	return ZG_OK;
}

zg_err
zg_erc20_decode(const uint8_t *data, size_t len, zg_erc20_call *out)
{
	zg_err err;
	memset(out, 0, sizeof(*out));
	if (len < 4)
		return ZG_OK;

	size_t n = sizeof(erc20_calls) / sizeof(erc20_calls[0]);
	size_t i = 0;
	while (i < n && memcmp(data, erc20_calls[i].selector, 4) != 0)
		i++;
	if (i == n)
		return ZG_OK;

	size_t nargs = erc20_calls[i].nargs;
	if (len < 4 + 32 * nargs)
		return ZG_ERR_INVALID;
	const uint8_t *args = data + 4;
	if (nargs == 3) {
		if ((err = read_address(args, out->from)) != ZG_OK)
			return err;
		args += 32;
	}
	if ((err = read_address(args, out->target)) != ZG_OK)
		return err;
	if ((err = zg_u256_from_be(&out->amount, args + 32, 32)) != ZG_OK)
		return err;
	out->trailing_data = len > 4 + 32 * nargs;
	out->kind = erc20_calls[i].kind;
	return ZG_OK;
}
