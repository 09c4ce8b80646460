/* Argon2id (RFC 9106, version 0x13) through libargon2. */
#include "crypto/crypto.h"

#include <argon2.h>

#include "base/buf.h"

/* Maps a libargon2 error code onto the zguard error enum. */
static zg_err
argon2_err(int rc)
{
	switch (rc) {
	case ARGON2_OK:
		return ZG_OK;
	case ARGON2_MEMORY_ALLOCATION_ERROR:
		return ZG_ERR_NOMEM;
	case ARGON2_THREAD_FAIL:
	case ARGON2_INCORRECT_TYPE:
		return ZG_ERR_CRYPTO;
	default:
		/* Any other code reports an input out of range. */
		return ZG_ERR_INVALID;
	}
}

zg_err
zg_argon2id(const zg_argon2_params *params, const uint8_t *pass,
    size_t pass_len, const uint8_t *salt, size_t salt_len,
    const uint8_t *secret, size_t secret_len, const uint8_t *ad,
    size_t ad_len, uint8_t *out, size_t out_len)
{
	zg_err err = ZG_ERR_INVALID;

	/* libargon2 takes every length as a uint32_t. */
	if (pass_len > UINT32_MAX || salt_len > UINT32_MAX ||
	    secret_len > UINT32_MAX || ad_len > UINT32_MAX ||
	    out_len > UINT32_MAX)
		goto out;

	/*
	 * libargon2 declares its inputs non-const but only reads them, because
	 * flags leaves ARGON2_FLAG_CLEAR_PASSWORD and ARGON2_FLAG_CLEAR_SECRET
	 * unset. It wipes its own memory blocks before freeing them.
	 */
	argon2_context ctx = {
		.out = out,
		.outlen = (uint32_t)out_len,
		.pwd = (uint8_t *)pass,
		.pwdlen = (uint32_t)pass_len,
		.salt = (uint8_t *)salt,
		.saltlen = (uint32_t)salt_len,
		.secret = (uint8_t *)secret,
		.secretlen = (uint32_t)secret_len,
		.ad = (uint8_t *)ad,
		.adlen = (uint32_t)ad_len,
		.t_cost = params->t_cost,
		.m_cost = params->m_cost_kib,
		.lanes = params->parallelism,
		.threads = params->parallelism,
		.version = ARGON2_VERSION_13,
		.allocate_cbk = NULL,
		.free_cbk = NULL,
		.flags = ARGON2_DEFAULT_FLAGS,
	};
	err = argon2_err(argon2_ctx(&ctx, Argon2_id));
out:
	if (err != ZG_OK)
		zg_wipe(out, out_len);
	return err;
}
