/*
 * Seals: how the root key is protected at rest.
 *
 * The meta value "seal" records which seal the vault was created with:
 *   byte 0      format (1)
 *   byte 1      kind (0 = key file, 1 = passphrase)
 *   passphrase only: t_cost, m_cost_kib, parallelism (u32 big-endian each)
 *                    and a 16-byte salt
 * The meta value "root_key" is the root key sealed under the seal key with
 * the blob format of keyring.h; its header's key version is the root
 * generation, which counts rotations.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "vault/keyring_internal.h"

#define SEAL_META_KEYFILE_LEN 2
#define SEAL_META_PASS_LEN (2 + 12 + SEAL_SALT_LEN)

static uint32_t
get_u32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

zg_err
zg_kr_create(zg_store *st, const uint8_t seal_key[ZG_KEY_LEN])
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf aad = ZG_BUF_INIT;
	zg_buf root_blob = ZG_BUF_INIT;
	zg_wrapped_key row = {0};
	uint8_t *root = zg_secure_alloc(ZG_KEY_LEN);
	uint8_t *kek = zg_secure_alloc(ZG_KEY_LEN);
	zg_ct_header h = {ZG_CT_FORMAT_V1, ZG_CT_ALG_AES256GCM, 0, 1};

	if (root == NULL || kek == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if ((err = zg_random(root, ZG_KEY_LEN)) != ZG_OK ||
	    (err = zg_random(kek, ZG_KEY_LEN)) != ZG_OK)
		goto out;
	if ((err = zg_kr_wrap_row(root, 1, KEK_KEY_ID, 1, kek, &row)) != ZG_OK)
		goto out;
	if ((err = zg_kr_root_aad(&aad)) != ZG_OK ||
	    (err = zg_seal_blob(seal_key, &h, aad.data, aad.len, root,
	    ZG_KEY_LEN, &root_blob)) != ZG_OK)
		goto out;
	/* The KEK goes first: a root key without a KEK is detected at load,
	 * while a KEK without a root key is simply replaced on the next try. */
	if ((err = st->ops->wkey_insert(st, &row)) != ZG_OK)
		goto out;
	if ((err = st->ops->meta_put(st, META_ROOT, root_blob.data,
	    root_blob.len)) != ZG_OK)
		goto out;
	/* success */
	err = ZG_OK;
out:
	zg_secure_free(root, ZG_KEY_LEN);
	zg_secure_free(kek, ZG_KEY_LEN);
	zg_buf_free(&aad);
	zg_buf_free(&root_blob);
	free(row.blob);
	return err;
}

/*
 * Reads the 32-byte seal key file, or creates it if create is true and it
 * does not exist. A file that other users can read is refused, as ssh does
 * for private keys.
 */
static zg_err
keyfile_load(const char *dir, bool create, uint8_t key[ZG_KEY_LEN],
    zg_errmsg *em)
{
	char path[1100];
	struct stat sb;
	zg_err err = ZG_ERR_INTERNAL;
	int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, SEAL_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		if ((err = zg_random(key, ZG_KEY_LEN)) != ZG_OK)
			goto out;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, key, ZG_KEY_LEN) != ZG_KEY_LEN ||
		    fsync(fd) != 0) {
			err = zg_fail(em, ZG_ERR_IO, "cannot write seal key file %s: %s",
			    path, strerror(errno));
			goto out;
		}
		zg_log_info("created seal key file", ZGF_S("path", path));
		err = ZG_OK;
		goto out;
	}
	if (fd < 0) {
		err = zg_fail(em, errno == ENOENT ? ZG_ERR_NOT_FOUND : ZG_ERR_IO,
		    "cannot open seal key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		err = zg_fail(em, ZG_ERR_IO, "cannot stat %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		err = zg_fail(em, ZG_ERR_CONFIG,
		    "seal key file %s is accessible by other users (mode %04o); "
		    "run chmod 600 %s", path, (unsigned)(sb.st_mode & 07777), path);
		goto out;
	}
	if (sb.st_size != ZG_KEY_LEN || read(fd, key, ZG_KEY_LEN) != ZG_KEY_LEN) {
		err = zg_fail(em, ZG_ERR_INTEGRITY,
		    "seal key file %s must hold exactly %d bytes", path, ZG_KEY_LEN);
		goto out;
	}
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_wipe(key, ZG_KEY_LEN);
	if (fd >= 0)
		close(fd);
	return err;
}

static zg_err
passphrase_key(const uint8_t *meta, size_t len, const uint8_t *pass,
    size_t pass_len, uint8_t key[ZG_KEY_LEN])
{
	if (len != SEAL_META_PASS_LEN)
		return ZG_ERR_INTEGRITY;
	zg_argon2_params p = {get_u32be(meta + 2), get_u32be(meta + 6),
	    get_u32be(meta + 10)};
	return zg_argon2id(&p, pass, pass_len, meta + 14, SEAL_SALT_LEN, NULL, 0,
	    NULL, 0, key, ZG_KEY_LEN);
}

zg_err
zg_keyring_init_passphrase(zg_store *st, const uint8_t *pass, size_t pass_len,
    const zg_argon2_params *params, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	uint8_t *existing = NULL;
	size_t existing_len = 0;
	uint8_t meta[SEAL_META_PASS_LEN];
	uint8_t *key = zg_secure_alloc(ZG_KEY_LEN);

	if (key == NULL)
		return ZG_ERR_NOMEM;
	err = st->ops->meta_get(st, META_ROOT, &existing, &existing_len);
	free(existing);
	if (err == ZG_OK) {
		err = zg_fail(em, ZG_ERR_CONFLICT,
		    "this data directory is already initialized");
		goto out;
	}
	if (err != ZG_ERR_NOT_FOUND)
		goto out;
	meta[0] = 1;
	meta[1] = ZG_SEAL_PASSPHRASE;
	uint32_t vals[3] = {params->t_cost, params->m_cost_kib,
	    params->parallelism};
	for (int i = 0; i < 3; i++)
		for (int b = 0; b < 4; b++)
			meta[2 + 4 * i + b] = (uint8_t)(vals[i] >> (24 - 8 * b));
	if ((err = zg_random(meta + 14, SEAL_SALT_LEN)) != ZG_OK)
		goto out;
	if ((err = passphrase_key(meta, sizeof(meta), pass, pass_len, key)) != ZG_OK)
		goto out;
	if ((err = st->ops->meta_put(st, META_SEAL, meta, sizeof(meta))) != ZG_OK)
		goto out;
	if ((err = zg_kr_create(st, key)) != ZG_OK)
		goto out;
	zg_log_info("vault initialized", ZGF_S("seal", "passphrase"));
	/* success */
	err = ZG_OK;
out:
	zg_secure_free(key, ZG_KEY_LEN);
	return err;
}

/* Loads all keys under seal_key and takes ownership of seal_key. */
static zg_err
unseal_with(zg_keyring *kr, uint8_t *seal_key)
{
	pthread_rwlock_wrlock(&kr->lock);
	zg_err err = zg_kr_load(kr, seal_key);
	if (err == ZG_OK) {
		zg_secure_free(kr->seal_key, ZG_KEY_LEN);
		kr->seal_key = seal_key;
		kr->sealed = false;
	} else {
		zg_secure_free(seal_key, ZG_KEY_LEN);
	}
	pthread_rwlock_unlock(&kr->lock);
	return err;
}

zg_err
zg_keyring_unseal(zg_keyring *kr, const uint8_t *pass, size_t pass_len,
    zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	uint8_t *meta = NULL;
	size_t meta_len = 0;
	uint8_t *key = NULL;

	pthread_mutex_lock(&kr->admin);
	if (kr->seal != ZG_SEAL_PASSPHRASE) {
		err = zg_fail(em, ZG_ERR_INVALID,
		    "this vault uses the key-file seal and unseals at start");
		goto out;
	}
	if (!zg_keyring_sealed(kr)) {
		err = ZG_OK;
		goto out;
	}
	if ((key = zg_secure_alloc(ZG_KEY_LEN)) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if ((err = kr->st->ops->meta_get(kr->st, META_SEAL, &meta, &meta_len)) != ZG_OK)
		goto out;
	if ((err = passphrase_key(meta, meta_len, pass, pass_len, key)) != ZG_OK)
		goto out;
	err = unseal_with(kr, key);
	key = NULL; /* freed by unseal_with */
	if (err == ZG_ERR_INTEGRITY) {
		/* The root key blob fails to open under a wrong passphrase. */
		err = zg_fail(em, ZG_ERR_BAD_PASSPHRASE,
		    "the passphrase does not unseal this vault");
		goto out;
	}
	if (err == ZG_OK)
		zg_log_info("vault unsealed", ZGF_I("root_version", kr->root_version));
out:
	pthread_mutex_unlock(&kr->admin);
	zg_secure_free(key, ZG_KEY_LEN);
	free(meta);
	return err;
}

zg_err
zg_keyring_open(zg_store *st, const char *data_dir, enum zg_seal_kind seal,
    zg_keyring **out, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_keyring *kr = NULL;
	uint8_t *meta = NULL;
	size_t meta_len = 0;
	uint8_t *key = NULL;
	enum zg_seal_kind stored;

	*out = NULL;
	if ((kr = calloc(1, sizeof(*kr))) == NULL)
		return ZG_ERR_NOMEM;
	kr->st = st;
	kr->sealed = true;
	snprintf(kr->data_dir, sizeof(kr->data_dir), "%s", data_dir);
	pthread_rwlock_init(&kr->lock, NULL);
	pthread_mutex_init(&kr->admin, NULL);

	err = st->ops->meta_get(st, META_SEAL, &meta, &meta_len);
	if (err == ZG_ERR_NOT_FOUND) {
		if (seal == ZG_SEAL_PASSPHRASE) {
			err = zg_fail(em, ZG_ERR_CONFIG,
			    "the vault in %s is not initialized; run "
			    "'zguard init --data %s --seal passphrase' first",
			    data_dir, data_dir);
			goto out;
		}
		uint8_t m[SEAL_META_KEYFILE_LEN] = {1, ZG_SEAL_KEYFILE};
		if ((key = zg_secure_alloc(ZG_KEY_LEN)) == NULL) {
			err = ZG_ERR_NOMEM;
			goto out;
		}
		if ((err = keyfile_load(data_dir, true, key, em)) != ZG_OK)
			goto out;
		if ((err = zg_kr_create(st, key)) != ZG_OK ||
		    (err = st->ops->meta_put(st, META_SEAL, m, sizeof(m))) != ZG_OK)
			goto out;
		zg_log_info("vault initialized", ZGF_S("seal", "keyfile"));
		stored = ZG_SEAL_KEYFILE;
	} else if (err != ZG_OK) {
		goto out;
	} else {
		if (meta_len < 2 || meta[0] != 1 || meta[1] > ZG_SEAL_PASSPHRASE) {
			err = zg_fail(em, ZG_ERR_INTEGRITY,
			    "the stored seal description is corrupt");
			goto out;
		}
		stored = (enum zg_seal_kind)meta[1];
	}
	if (stored != seal) {
		err = zg_fail(em, ZG_ERR_CONFIG,
		    "the vault in %s uses the %s seal, but the configuration "
		    "says %s", data_dir,
		    stored == ZG_SEAL_KEYFILE ? "keyfile" : "passphrase",
		    seal == ZG_SEAL_KEYFILE ? "keyfile" : "passphrase");
		goto out;
	}
	kr->seal = stored;
	if (stored == ZG_SEAL_KEYFILE) {
		if (key == NULL) {
			if ((key = zg_secure_alloc(ZG_KEY_LEN)) == NULL) {
				err = ZG_ERR_NOMEM;
				goto out;
			}
			if ((err = keyfile_load(data_dir, false, key, em)) != ZG_OK)
				goto out;
		}
		err = unseal_with(kr, key);
		key = NULL; /* freed by unseal_with */
		if (err != ZG_OK) {
			if (err == ZG_ERR_INTEGRITY)
				zg_fail(em, err, "the seal key file does not "
				    "open the root key, or the stored keys are "
				    "corrupt");
			goto out;
		}
	}
	*out = kr;
	kr = NULL; /* owned by the caller now */
	/* success */
	err = ZG_OK;
out:
	zg_secure_free(key, ZG_KEY_LEN);
	free(meta);
	zg_keyring_close(kr);
	return err;
}
