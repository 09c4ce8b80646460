/* Private to src/vault/keyring*.c. */
#ifndef ZG_VAULT_KEYRING_INTERNAL_H
#define ZG_VAULT_KEYRING_INTERNAL_H

#include <pthread.h>

#include "vault/keyring.h"

#define META_SEAL "seal"
#define META_ROOT "root_key"
#define SEAL_FILE "seal.key"
#define SEAL_SALT_LEN 16
#define KEK_KEY_ID "kek"

/* One unwrapped key; key points into the locked heap. */
struct mkey {
	char id[ZG_ID_MAX];
	uint32_t version;
	uint8_t *key;
};

struct zg_keyring {
	zg_store *st;
	char data_dir[1024];
	enum zg_seal_kind seal;
	pthread_rwlock_t lock;        /* guards the fields below */
	pthread_mutex_t admin;        /* serializes rotations and key creation */
	bool sealed;
	uint8_t *seal_key;            /* locked; kept to rewrap the root key */
	uint8_t *root;                /* locked */
	uint32_t root_version;
	struct mkey *keys;            /* sorted by (id, version) */
	size_t nkeys;
	size_t cap;
	uint32_t kek_current;
};

/* AAD of the root key blob and of a wrapped key blob. */
zg_err zg_kr_root_aad(zg_buf *aad);
zg_err zg_kr_wkey_aad(const char *id, uint32_t version, zg_buf *aad);

/* Finds (id, version); version 0 means the newest. Caller holds the lock. */
struct mkey *zg_kr_find(zg_keyring *kr, const char *id, uint32_t version);

/* Adds a copy of key to the sorted array. Caller holds the write lock. */
zg_err zg_kr_add(zg_keyring *kr, const char *id, uint32_t version,
    const uint8_t key[ZG_KEY_LEN]);

/* Wraps key under root as a store row (blob owned by the row). */
zg_err zg_kr_wrap_row(const uint8_t root[ZG_KEY_LEN], uint32_t root_version,
    const char *id, uint32_t version, const uint8_t key[ZG_KEY_LEN],
    zg_wrapped_key *row);

/* Unwraps root and every stored key into kr. Caller holds the write lock. */
zg_err zg_kr_load(zg_keyring *kr, const uint8_t seal_key[ZG_KEY_LEN]);

/* Wipes every in-memory key. Caller holds the write lock. */
void zg_kr_wipe(zg_keyring *kr);

/* Creates root key and KEK v1 and stores them wrapped under seal_key. */
zg_err zg_kr_create(zg_store *st, const uint8_t seal_key[ZG_KEY_LEN]);

#endif
