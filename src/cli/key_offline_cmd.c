/*
 * `zguard key backup|restore`: software keys to and from an encrypted
 * bundle. Both work on a data directory directly, without a daemon.
 * Passphrases come from a file or stdin, never from an argument.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmdutil.h"
#include "cli/key_cmd_internal.h"
#include "cli/key_usage.h"
#include "keys/keys.h"
#include "server/datadir.h"
#include "store/store.h"
#include "vault/keyring.h"

/* Input limits, in bytes. */
#define PASSPHRASE_MAX 1024
#define BUNDLE_MAX (256 * 1024 * 1024)

/* The shortest bundle passphrase a backup accepts, as for `zguard init`. */
#define BUNDLE_PASSPHRASE_MIN 12

/*
 * Backup and restore open the data directory as the daemon does: the
 * store, the keyring, then the key manager. The manager gets no PKCS#11
 * module, because token keys never leave their token and the bundle lists
 * them from their stored metadata alone.
 */
struct offline {
	int lock_fd;            /* restore: the data directory lock */
	zg_store *st;
	zg_keyring *kr;
	zg_keys *keys;
};

static void
offline_close(struct offline *o)
{
	zg_keys_close(o->keys);
	zg_keyring_close(o->kr);
	if (o->st != NULL)
		o->st->ops->close(o->st);
	if (o->lock_fd >= 0)
		close(o->lock_fd);
}

/* Prints "zguard: <what>: <reason>" and returns the exit code of err. */
static int
offline_fail(const char *what, zg_err err, const zg_errmsg *em)
{
	fprintf(stderr, "zguard: %s: %s\n", what, em->text[0] != '\0' ?
	    em->text : zg_strerror(err));
	switch (err) {
	case ZG_ERR_BAD_PASSPHRASE:
	case ZG_ERR_INVALID:
	case ZG_ERR_INTEGRITY:
	case ZG_ERR_CONFLICT:
	case ZG_ERR_LOCKED:
	case ZG_ERR_CONFIG:
		return ZG_EXIT_FAILED;
	default:
		return ZG_EXIT_IO;
	}
}

/*
 * Opens the data directory a->data into o. A restore (writable) takes the
 * directory's lock and opens the store read-write, creating it if needed.
 * A backup opens an existing store read-only, so a daemon may keep running.
 */
static int
offline_open(const struct key_args *a, bool writable, struct offline *o)
{
	enum zg_seal_kind seal = a->vault_pass_file != NULL ?
	    ZG_SEAL_PASSPHRASE : ZG_SEAL_KEYFILE;
	zg_buf vault_pass = ZG_BUF_INIT;
	zg_errmsg em = {0};
	char db[1100];
	struct stat sb;
	zg_err err;
	int rc;

	if (seal == ZG_SEAL_PASSPHRASE && (rc = zg_cli_key_read_secret_line(
	    a->vault_pass_file, "vault passphrase", "", PASSPHRASE_MAX,
	    &vault_pass)) != ZG_EXIT_OK)
		return rc;
	if (writable) {
		if ((err = zg_datadir_open(a->data, &o->lock_fd, &em)) != ZG_OK) {
			rc = offline_fail("cannot lock the data directory", err,
			    &em);
			goto out;
		}
		err = zg_store_sqlite_open(a->data, &o->st);
	} else {
		/* Opening read-only never creates a database. */
		snprintf(db, sizeof(db), "%s/zguard.db", a->data);
		if (stat(db, &sb) != 0) {
			fprintf(stderr, "zguard: cannot open %s: %s\n", db,
			    strerror(errno));
			rc = ZG_EXIT_IO;
			goto out;
		}
		err = zg_store_sqlite_open_readonly(a->data, &o->st);
	}
	if (err != ZG_OK) {
		fprintf(stderr, "zguard: cannot open the database in %s: %s\n",
		    a->data, zg_strerror(err));
		rc = ZG_EXIT_IO;
		goto out;
	}
	err = zg_keyring_open(o->st, a->data, seal, &o->kr, &em);
	if (err == ZG_ERR_CONFIG && seal == ZG_SEAL_KEYFILE)
		fprintf(stderr, "zguard: a vault with the passphrase seal needs "
		    "--vault-passphrase-file\n");
	if (err == ZG_OK && seal == ZG_SEAL_PASSPHRASE)
		err = zg_keyring_unseal(o->kr, vault_pass.data, vault_pass.len,
		    &em);
	if (err != ZG_OK) {
		rc = offline_fail("cannot open the vault", err, &em);
		goto out;
	}
	if ((err = zg_keys_open(o->st, o->kr, NULL, &o->keys, &em)) != ZG_OK) {
		rc = offline_fail("cannot open the key manager", err, &em);
		goto out;
	}
	/* success */
	rc = ZG_EXIT_OK;
out:
	zg_buf_free(&vault_pass);
	return rc;
}

/* Reads the whole file path, at most max bytes, into out. */
static int
read_whole_file(const char *path, size_t max, zg_buf *out)
{
	char chunk[65536];
	int rc = ZG_EXIT_IO;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1) {
		fprintf(stderr, "zguard: cannot open %s: %s\n", path,
		    strerror(errno));
		return ZG_EXIT_IO;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "zguard: cannot read %s: %s\n", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if ((size_t)n > max - out->len) {
			fprintf(stderr, "zguard: %s is larger than %zu bytes; "
			    "it is not a key backup\n", path, max);
			goto out;
		}
		if (zg_buf_append(out, chunk, (size_t)n) != ZG_OK) {
			zg_cli_key_out_of_memory();
			goto out;
		}
	}
	/* success */
	rc = ZG_EXIT_OK;
out:
	close(fd);
	return rc;
}

/*
 * Creates path with mode 0600, failing if it exists, and writes data to
 * it durably. A partly written file is removed.
 */
static int
write_new_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	size_t done = 0;

	if (fd == -1) {
		fprintf(stderr, "zguard: cannot create %s: %s\n", path,
		    strerror(errno));
		return ZG_EXIT_IO;
	}
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		done += (size_t)n;
	}
	if (done < len || fsync(fd) != 0) {
		fprintf(stderr, "zguard: cannot write %s: %s\n", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return ZG_EXIT_IO;
	}
	if (close(fd) != 0) {
		fprintf(stderr, "zguard: cannot write %s: %s\n", path,
		    strerror(errno));
		unlink(path);
		return ZG_EXIT_IO;
	}
	return ZG_EXIT_OK;
}

static const struct option offline_opts[] = {
	{"data", required_argument, NULL, OPT_DATA},
	{"out", required_argument, NULL, OPT_OUT},
	{"in", required_argument, NULL, OPT_IN},
	{"owner", required_argument, NULL, OPT_OWNER},
	{"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE},
	{"vault-passphrase-file", required_argument, NULL,
	    OPT_VAULT_PASSPHRASE_FILE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int
zg_cli_key_backup(int argc, char **argv)
{
	const struct zg_cli_usage *u = &zg_key_backup_usage;
	struct key_args a = {0};
	struct offline o = {.lock_fd = -1};
	zg_buf pass = ZG_BUF_INIT, bundle = ZG_BUF_INIT;
	size_t exported = 0, not_exportable = 0;
	zg_errmsg em = {0};
	struct stat sb;
	zg_err err;
	int rc;

	if ((rc = zg_cli_key_parse_args(u, offline_opts, 0, NULL, argc, argv,
	    &a)) != ZG_CLI_CONTINUE)
		return rc;
	if (a.in != NULL)
		return zg_cli_usage_error(u, "--in is an option of 'zguard key "
		    "restore'; a backup writes to --out FILE");
	if (a.data == NULL || a.data[0] == '\0')
		return zg_cli_usage_error(u, "missing --data DIR");
	if (a.out == NULL || a.out[0] == '\0')
		return zg_cli_usage_error(u, "missing --out FILE");
	/* Checked now as well, so no passphrase is typed in vain. */
	if (lstat(a.out, &sb) == 0) {
		fprintf(stderr, "zguard: %s already exists; choose a new file "
		    "for the backup\n", a.out);
		return ZG_EXIT_IO;
	}
	if ((rc = zg_cli_key_read_secret_line(a.pass_file, "bundle passphrase",
	    "Bundle passphrase: ", PASSPHRASE_MAX, &pass)) != ZG_EXIT_OK)
		goto out;
	if (pass.len < BUNDLE_PASSPHRASE_MIN) {
		fprintf(stderr, "zguard: the bundle passphrase has %zu "
		    "characters; use at least %d\n", pass.len,
		    BUNDLE_PASSPHRASE_MIN);
		rc = ZG_EXIT_USAGE;
		goto out;
	}
	zg_harden_process();
	zg_crypto_init(1u << 20);
	if ((rc = offline_open(&a, false, &o)) != ZG_EXIT_OK)
		goto out;
	if ((err = zg_keys_backup(o.keys, a.owner, pass.data, pass.len, NULL,
	    &bundle, &exported, &not_exportable, &em)) != ZG_OK) {
		rc = offline_fail("backup failed", err, &em);
		goto out;
	}
	if ((rc = write_new_file(a.out, bundle.data, bundle.len)) !=
	    ZG_EXIT_OK)
		goto out;
	printf("wrote %s: %zu keys exported, %zu not exportable (PKCS#11, "
	    "listed without key material)\n", a.out, exported,
	    not_exportable);
out:
	offline_close(&o);
	zg_buf_free(&pass);
	zg_buf_free(&bundle);
	return rc;
}

int
zg_cli_key_restore(int argc, char **argv)
{
	const struct zg_cli_usage *u = &zg_key_restore_usage;
	struct key_args a = {0};
	struct offline o = {.lock_fd = -1};
	zg_buf pass = ZG_BUF_INIT, bundle = ZG_BUF_INIT;
	zg_keys_bundle *opened = NULL;
	size_t restored = 0, skipped = 0;
	zg_errmsg em = {0};
	zg_err err;
	int rc;

	if ((rc = zg_cli_key_parse_args(u, offline_opts, 0, NULL, argc, argv,
	    &a)) != ZG_CLI_CONTINUE)
		return rc;
	if (a.out != NULL || a.owner != NULL)
		return zg_cli_usage_error(u, "--out and --owner are options of "
		    "'zguard key backup'; a restore reads --in FILE");
	if (a.data == NULL || a.data[0] == '\0')
		return zg_cli_usage_error(u, "missing --data DIR");
	if (a.in == NULL || a.in[0] == '\0')
		return zg_cli_usage_error(u, "missing --in FILE");
	if ((rc = read_whole_file(a.in, BUNDLE_MAX, &bundle)) != ZG_EXIT_OK)
		goto out;
	if ((rc = zg_cli_key_read_secret_line(a.pass_file, "bundle passphrase",
	    "Bundle passphrase: ", PASSPHRASE_MAX, &pass)) != ZG_EXIT_OK)
		goto out;
	zg_harden_process();
	zg_crypto_init(1u << 20);
	/* The bundle is decrypted first, so a wrong passphrase or a file that
	 * is not a bundle leaves the data directory as it was. */
	if ((err = zg_keys_bundle_open(bundle.data, bundle.len, pass.data,
	    pass.len, &opened, &em)) != ZG_OK) {
		rc = offline_fail("restore failed", err, &em);
		goto out;
	}
	zg_buf_free(&pass);
	if ((rc = offline_open(&a, true, &o)) != ZG_EXIT_OK)
		goto out;
	if ((err = zg_keys_restore_bundle(o.keys, opened, &restored, &skipped,
	    &em)) != ZG_OK) {
		rc = offline_fail("restore failed", err, &em);
		goto out;
	}
	printf("restored %zu keys into %s; skipped %zu not exportable\n",
	    restored, a.data, skipped);
out:
	offline_close(&o);
	zg_keys_bundle_free(opened);
	zg_buf_free(&pass);
	zg_buf_free(&bundle);
	return rc;
}
