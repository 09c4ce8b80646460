/*
 * Signing benchmark on one thread.
 *
 *   keys_bench [SECONDS]
 *
 * 1. Software backend, secp256k1: signatures per second through
 *    zg_keys_sign_digest (store counter read, cached key state, DEK unwrap,
 *    key unseal into the locked heap, sign, wipe), against raw libsecp256k1
 *    signing (secp256k1_ecdsa_sign_recoverable with one fixed key) in the
 *    same run. Then the cost of the store counter read alone, which every
 *    signature pays to notice key writes by other processes.
 * 2. If SoftHSM2 is installed: secp256k1 through zg_keys_sign_digest on a
 *    token (counter read, cached object handle, C_Sign, low-s normalization
 *    and recovery id) against C_SignInit and C_Sign alone on one session
 *    with the object handle found once.
 *
 * Each measurement runs for SECONDS (default 1) and is taken ROUNDS times
 * in alternation with its reference. The best run of each counts, because
 * the best of several runs stays steady on a machine that other work
 * shares. The token is made by
 * tests/support/softhsm.sh, found through ZGUARD_SOURCE_DIR or the
 * working directory. Results are lines "name key=value ..." on stdout.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "keys/keys_internal.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN "zg-bench"
#define PIN "bench-pin"
#define ROUNDS 5

typedef int (*sign_fn)(void *ctx, const uint8_t digest[32]);

struct soft_ctx {
	zg_keys *keys;
	const char *key_id;
};

struct raw_ctx {
	secp256k1_context *secp;
	uint8_t priv[32];
};

struct p11_ctx {
	CK_FUNCTION_LIST_PTR fl;
	CK_SESSION_HANDLE session;
	CK_OBJECT_HANDLE key;
};

static int
sign_zguard(void *p, const uint8_t digest[32])
{
	struct soft_ctx *c = p;
	zg_key_signature sig;
	return zg_keys_sign_digest(c->keys, c->key_id, digest, &sig, NULL) ==
	    ZG_OK ? 0 : -1;
}

static int
sign_raw(void *p, const uint8_t digest[32])
{
	struct raw_ctx *c = p;
	secp256k1_ecdsa_recoverable_signature sig;
	uint8_t out[64];
	int recid;
	if (secp256k1_ecdsa_sign_recoverable(c->secp, &sig, digest, c->priv,
	    NULL, NULL) != 1)
		return -1;
	secp256k1_ecdsa_recoverable_signature_serialize_compact(c->secp, out,
	    &recid, &sig);
	return 0;
}

/* Reads the key write counter and ignores the digest. */
static int
read_counter(void *p, const uint8_t digest[32])
{
	zg_store *st = p;
	int64_t value;
	return st->ops->counter_add(st, ZG_KEYS_COUNTER, 0, &value) == ZG_OK ?
	    0 : -1;
}

static int
sign_p11_raw(void *p, const uint8_t digest[32])
{
	struct p11_ctx *c = p;
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	uint8_t sig[64];
	CK_ULONG n = sizeof(sig);
	if (c->fl->C_SignInit(c->session, &mech, c->key) != CKR_OK ||
	    c->fl->C_Sign(c->session, (uint8_t *)digest, 32, sig, &n) != CKR_OK)
		return -1;
	return 0;
}

/* Calls fn with distinct digests for `seconds`; returns calls per second. */
static double
measure(sign_fn fn, void *ctx, double seconds)
{
	uint8_t digest[32] = {0};
	uint64_t n = 0;
	int64_t start = zg_time_mono_us(), end = start + (int64_t)(seconds * 1e6);
	int64_t now = start;

	while (now < end) {
		for (int i = 0; i < 64; i++, n++) {
			memcpy(digest, &n, sizeof(n));
			if (fn(ctx, digest) != 0) {
				fprintf(stderr, "keys_bench: a measured call "
				    "failed\n");
				exit(1);
			}
		}
		now = zg_time_mono_us();
	}
	return (double)n * 1e6 / (double)(now - start);
}

static void
compare(const char *name, sign_fn ours, void *ours_ctx, const char *ref_name,
    sign_fn ref, void *ref_ctx, double seconds)
{
	double best_ours = 0, best_ref = 0;
	for (int round = 0; round < ROUNDS; round++) {
		double r = measure(ref, ref_ctx, seconds);
		double o = measure(ours, ours_ctx, seconds);
		best_ref = r > best_ref ? r : best_ref;
		best_ours = o > best_ours ? o : best_ours;
	}
	printf("%s zguard_sig_per_s=%.0f %s_sig_per_s=%.0f ratio=%.3f\n", name,
	    best_ours, ref_name, best_ref, best_ours / best_ref);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Makes a SoftHSM2 token under dir and opens a manager on it. */
static zg_keys *
open_token(const char *dir, zg_store *st, zg_keyring *kr)
{
	const char *src = getenv("ZGUARD_SOURCE_DIR");
	char cmd[512], conf[256];
	zg_errmsg em = {0};
	zg_keys *k = NULL;

	snprintf(cmd, sizeof(cmd), "%s/tests/support/softhsm.sh %s/hsm %s "
	    "so-%s %s", src ? src : ".", dir, TOKEN, PIN, PIN);
	FILE *p = popen(cmd, "r");
	if (p == NULL || fgets(conf, sizeof(conf), p) == NULL) {
		if (p != NULL)
			pclose(p);
		return NULL;
	}
	if (pclose(p) != 0)
		return NULL;
	conf[strcspn(conf, "\n")] = '\0';
	setenv("SOFTHSM2_CONF", conf, 1);
	setenv("ZG_BENCH_HSM_PIN", PIN, 1);
	zg_pkcs11_config cfg = {MODULE, TOKEN, NULL, "ZG_BENCH_HSM_PIN", 1};
	if (zg_keys_open(st, kr, &cfg, &k, &em) != ZG_OK)
		fprintf(stderr, "keys_bench: %s\n", em.text);
	return k;
}

static int
bench_pkcs11(const char *dir, zg_store *st, zg_keyring *kr, double seconds)
{
	zg_key_params params = {"bench", ZG_KEY_ALG_SECP256K1,
	    ZG_KEY_BACKEND_PKCS11, "bench", 0, false};
	zg_errmsg em = {0};
	zg_key key;
	zg_obj_row row;
	char vid[ZG_OBJ_ID_MAX];
	struct p11_ctx raw;
	zg_keys *k = open_token(dir, st, kr);

	if (k == NULL)
		return 1;
	if (zg_keys_create(k, &params, &key, &em) != ZG_OK) {
		fprintf(stderr, "keys_bench: %s\n", em.text);
		zg_keys_close(k);
		return 1;
	}
	zg_key_version_id(key.id, 1, vid);
	memset(&row, 0, sizeof(row));
	if (st->ops->obj_get(st, ZG_KEY_VERSION_KIND, vid, &row) != ZG_OK)
		return 1;
	struct soft_ctx ours = {k, key.id};
	/* With a pool of one session, the raw loop borrows that session
	 * and returns it before zguard's loop needs it. */
	for (int round = 0; round < 2; round++) {
		raw.session = zg_p11_session_get(k->p11, &raw.fl);
		if (zg_p11_find(k->p11, raw.session, CKO_PRIVATE_KEY, row.blob,
		    row.blob_len, &raw.key) != ZG_OK)
			return 1;
		double r = measure(sign_p11_raw, &raw, seconds);
		zg_p11_session_put(k->p11, raw.session);
		double o = measure(sign_zguard, &ours, seconds);
		printf("pkcs11_softhsm2_secp256k1 round=%d zguard_sig_per_s=%.0f "
		    "c_sign_sig_per_s=%.0f ratio=%.3f\n", round, o, r, o / r);
	}
	zg_obj_row_free(&row);
	zg_key_free(&key);
	zg_keys_close(k);
	return 0;
}

int
main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	char dir[64] = "/tmp/zguard-keys-bench-XXXXXX";
	zg_store *st = NULL;
	zg_keyring *kr = NULL;
	zg_keys *k = NULL;
	zg_errmsg em = {0};
	zg_key key;
	int rc = 1;

	zg_log_set_level(ZG_LOG_WARN);
	if (seconds <= 0 || mkdtemp(dir) == NULL)
		return 2;
	if (zg_crypto_init(1 << 20) != ZG_OK)
		fprintf(stderr, "keys_bench: the locked heap is unavailable; "
		    "measuring with ordinary memory\n");
	if (zg_store_sqlite_open(dir, &st) != ZG_OK ||
	    zg_keyring_open(st, dir, ZG_SEAL_KEYFILE, &kr, &em) != ZG_OK ||
	    zg_keys_open(st, kr, NULL, &k, &em) != ZG_OK)
		goto out;
	zg_key_params params = {"bench", ZG_KEY_ALG_SECP256K1,
	    ZG_KEY_BACKEND_SOFTWARE, "bench", 0, false};
	if (zg_keys_create(k, &params, &key, &em) != ZG_OK)
		goto out;

	struct raw_ctx raw = {secp256k1_context_create(SECP256K1_CONTEXT_NONE),
	    {0}};
	uint8_t seed[32];
	if (zg_random(raw.priv, 32) != ZG_OK || zg_random(seed, 32) != ZG_OK ||
	    secp256k1_context_randomize(raw.secp, seed) != 1)
		goto out;
	struct soft_ctx ours = {k, key.id};
	compare("software_secp256k1", sign_zguard, &ours, "libsecp256k1",
	    sign_raw, &raw, seconds);
	printf("store_counter_read us_per_read=%.2f\n",
	    1e6 / measure(read_counter, st, seconds));
	secp256k1_context_destroy(raw.secp);
	zg_key_free(&key);

	if (access(MODULE, R_OK) == 0)
		rc = bench_pkcs11(dir, st, kr, seconds);
	else
		rc = 0;
out:
	if (em.text[0] != '\0')
		fprintf(stderr, "keys_bench: %s\n", em.text);
	zg_keys_close(k);
	if (kr != NULL)
		zg_keyring_close(kr);
	if (st != NULL)
		st->ops->close(st);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
