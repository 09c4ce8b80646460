/*
 * The locked heap, the CSPRNG and constant-time comparison, all taken from
 * OpenSSL 3 libcrypto.
 */
#include "crypto/crypto.h"

#include <assert.h>
#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* Smallest block the locked heap hands out. OpenSSL requires a power of two. */
#define SECURE_HEAP_MIN_BLOCK 32

/*
 * Result of the first zg_crypto_init, returned again by later calls because
 * CRYPTO_secure_malloc_init returns 0 once the heap exists. Calls to
 * zg_crypto_init and zg_crypto_shutdown must not run concurrently.
 */
static bool heap_initialized;
static zg_err heap_init_err;

zg_err
zg_crypto_init(size_t arena_bytes)
{
	/* OpenSSL 3.0 aborts on an arena that is not a power of two. */
	assert(arena_bytes > 0);
	assert((arena_bytes & (arena_bytes - 1)) == 0);

	if (heap_initialized)
		return heap_init_err;

	/*
	 * CRYPTO_secure_malloc_init returns 1 when the arena is mapped and
	 * locked, 2 when it is mapped but mlock failed (RLIMIT_MEMLOCK), and 0
	 * when there is no arena at all, in which case OPENSSL_secure_malloc
	 * falls back to the ordinary heap.
	 */
	int rc = CRYPTO_secure_malloc_init(arena_bytes, SECURE_HEAP_MIN_BLOCK);
	if (rc == 0)
		return ZG_ERR_CRYPTO;
	heap_initialized = true;
	heap_init_err = rc == 1 ? ZG_OK : ZG_ERR_CRYPTO;
	return heap_init_err;
}

void
zg_crypto_shutdown(void)
{
	if (!heap_initialized)
		return;
	/* CRYPTO_secure_malloc_done keeps the arena while a block is in use. */
	if (CRYPTO_secure_malloc_done() == 1)
		heap_initialized = false;
}

void *
zg_secure_alloc(size_t n)
{
	/*
	 * Outside the arena OpenSSL returns NULL for 0 bytes, and NULL must
	 * mean failure.
	 */
	return OPENSSL_secure_malloc(n > 0 ? n : 1);
}

void
zg_secure_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	/* Inside the arena OpenSSL wipes the whole block whatever n is. */
	OPENSSL_secure_clear_free(p, n);
}

bool
zg_secure_allocated(const void *p)
{
	if (p == NULL)
		return false;
	return CRYPTO_secure_allocated(p) == 1;
}

zg_err
zg_random(uint8_t *out, size_t n)
{
	/* RAND_bytes takes an int count, so fill large buffers in pieces. */
	while (n > 0) {
		size_t chunk = n > INT_MAX ? INT_MAX : n;
		if (RAND_bytes(out, (int)chunk) != 1)
			return ZG_ERR_CRYPTO;
		out += chunk;
		n -= chunk;
	}
	return ZG_OK;
}

bool
zg_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
