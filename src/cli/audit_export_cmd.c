/*
 * `zguard audit export`: writes the events of a data directory's audit log
 * as JSON lines, and optionally its latest signed tree head, for offline
 * verification with `zguard audit verify --events --tree-head`.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/verify.h"
#include "cli/audit_cmd_internal.h"
#include "cli/cli.h"
#include "cli/cmdutil.h"

/* Events per store read in an export. */
#define EXPORT_BATCH 1000

static const struct zg_cli_usage export_usage = {
	"audit export",
	"audit export --data DIR [--out FILE] [--from N] [--tree-head FILE]\n\n"
	"Writes the audit events of DIR/zguard.db as JSON lines\n"
	"{\"leafIndex\", \"leafHash\", \"canonical\", \"event\"}, where canonical\n"
	"is the Base64 of the hashed bytes and event their readable form. With\n"
	"the key-file seal the personal fields are decrypted, so treat the\n"
	"output as personal data. Reads the database read-only.\n\n"
	"Options:\n"
	"  --data DIR        data directory (required)\n"
	"  --out FILE        write the events to FILE, created with mode 0600\n"
	"                    (default: stdout)\n"
	"  --from N          start at leaf index N (default 0; offline\n"
	"                    verification needs the whole log)\n"
	"  --tree-head FILE  also write the latest signed tree head, read\n"
	"                    before the events so the export covers it\n"
	"  -h, --help        print this help\n\n"
	"Exit codes:\n"
	"  0  exported\n"
	"  1  --tree-head was given but the log has no signed tree head\n"
	"  2  usage error\n"
	"  3  a file or the database cannot be read or written\n",
	false,
};

/* Creates path for writing with mode, replacing its contents. */
static FILE *
create_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		fprintf(stderr, "zguard: cannot create %s: %s\n", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

/* Writes the latest tree head to path. */
static int
export_head(const zg_tree_head_row *h, const uint8_t *pub,
    const char *path)
{
	json_t *obj = zg_verify_head_json(h, pub);
	FILE *f = obj != NULL ? create_file(path, 0644) : NULL;
	int rc = ZG_EXIT_IO;

	if (f != NULL && json_dumpf(obj, f, JSON_INDENT(2)) == 0 &&
	    fputc('\n', f) != EOF)
		rc = ZG_EXIT_OK;
	if (f != NULL && fclose(f) != 0)
		rc = ZG_EXIT_IO;
	if (rc != ZG_EXIT_OK && f != NULL)
		fprintf(stderr, "zguard: cannot write %s\n", path);
	json_decref(obj);
	return rc;
}

/* Writes the events from index from to out; counts them in *count. */
static int
export_events(zg_store *st, zg_keyring *kr, uint64_t from, FILE *out,
    uint64_t *count)
{
	zg_audit_row *rows = NULL;
	size_t n = 0;

	*count = 0;
	for (;;) {
		zg_err err = st->ops->audit_events(st, from, EXPORT_BATCH, &rows,
		    &n);
		if (err != ZG_OK) {
			fprintf(stderr, "zguard: cannot read the audit events "
			    "from index %" PRIu64 ": %s\n", from,
			    zg_strerror(err));
			return ZG_EXIT_IO;
		}
		if (n == 0)
			return ZG_EXIT_OK;
		for (size_t i = 0; i < n; i++) {
			json_t *line = zg_verify_event_json(kr, &rows[i]);
			int bad = line == NULL ||
			    json_dumpf(line, out, JSON_COMPACT) != 0 ||
			    fputc('\n', out) == EOF;
			json_decref(line);
			if (bad) {
				zg_audit_rows_free(rows, n);
				fprintf(stderr, "zguard: cannot write the "
				    "export\n");
				return ZG_EXIT_IO;
			}
		}
		from = rows[n - 1].leaf_index + 1;
		*count += n;
		zg_audit_rows_free(rows, n);
		rows = NULL;
	}
}

/*
 * Opens the keyring of a key-file sealed vault, for decrypting personal
 * fields and deriving the public key; leaves *kr NULL otherwise.
 */
static void
open_keyring_if_keyfile(zg_store *st, const char *dir, zg_keyring **kr)
{
	uint8_t *meta = NULL, *root = NULL;
	size_t meta_len = 0, root_len = 0;
	zg_errmsg em = {0};

	*kr = NULL;
	if (st->ops->meta_get(st, VAULT_META_SEAL, &meta, &meta_len) == ZG_OK &&
	    st->ops->meta_get(st, VAULT_META_ROOT, &root, &root_len) == ZG_OK &&
	    meta_len >= 2 && meta[1] == ZG_SEAL_KEYFILE) {
		(void)zg_crypto_init(1u << 16);
		if (zg_keyring_open(st, dir, ZG_SEAL_KEYFILE, kr, &em) != ZG_OK)
			*kr = NULL;
	}
	if (*kr == NULL)
		fprintf(stderr, "zguard: note: the vault keys are not available, "
		    "so personal fields stay encrypted in the export\n");
	free(meta);
	free(root);
}

static int
run_export(const char *dir, const char *out_path, uint64_t from,
    const char *head_path)
{
	uint8_t pub[ZG_ED25519_PUB_LEN];
	uint8_t *seed = NULL;
	bool have_pub = false;
	zg_tree_head_row head;
	zg_store *st = NULL;
	zg_keyring *kr = NULL;
	FILE *out = stdout;
	uint64_t count = 0;
	int rc;

	if ((rc = zg_cli_audit_open_store(dir, &st)) != ZG_EXIT_OK)
		return rc;
	open_keyring_if_keyfile(st, dir, &kr);
	rc = ZG_EXIT_IO;
	if (kr != NULL && (seed = zg_secure_alloc(ZG_KEY_LEN)) != NULL &&
	    zg_keyring_system_key(kr, ZG_AUDIT_SIGNING_KEY, false, seed) ==
	    ZG_OK && zg_ed25519_public(seed, pub) == ZG_OK)
		have_pub = true;
	if (head_path != NULL) {
		/* The head is read first, so the events cover all it signs. */
		zg_err err = st->ops->audit_head_latest(st, &head);
		if (err == ZG_ERR_NOT_FOUND) {
			fprintf(stderr, "zguard: the audit log in %s has no "
			    "signed tree head yet\n", dir);
			rc = ZG_EXIT_FAILED;
			goto out;
		}
		if (err != ZG_OK) {
			fprintf(stderr, "zguard: cannot read the latest tree "
			    "head: %s\n", zg_strerror(err));
			goto out;
		}
	}
	if (out_path != NULL && (out = create_file(out_path, 0600)) == NULL)
		goto out;
	if ((rc = export_events(st, kr, from, out, &count)) != ZG_EXIT_OK)
		goto out;
	if (fflush(out) != 0) {
		fprintf(stderr, "zguard: cannot write %s\n",
		    out_path ? out_path : "stdout");
		rc = ZG_EXIT_IO;
		goto out;
	}
	if (head_path != NULL && (rc = export_head(&head,
	    have_pub ? pub : NULL, head_path)) != ZG_EXIT_OK)
		goto out;
	fprintf(stderr, "zguard: exported %" PRIu64 " events from index %"
	    PRIu64 "%s%s\n", count, from, out_path ? " to " : "",
	    out_path ? out_path : "");
	rc = ZG_EXIT_OK;
out:
	if (out != stdout && out != NULL && fclose(out) != 0 &&
	    rc == ZG_EXIT_OK) {
		fprintf(stderr, "zguard: cannot write %s\n", out_path);
		rc = ZG_EXIT_IO;
	}
	zg_secure_free(seed, ZG_KEY_LEN);
	zg_keyring_close(kr);
	st->ops->close(st);
	return rc;
}

int
zg_cli_audit_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, OPT_DATA},
		{"out", required_argument, NULL, OPT_OUT},
		{"from", required_argument, NULL, OPT_FROM},
		{"tree-head", required_argument, NULL, OPT_TREE_HEAD},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &export_usage;
	struct zg_cli_globals g = {0};
	const char *data = NULL, *out = NULL, *head = NULL;
	int64_t from = 0;
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, opts,
	    NULL)) != -1) {
		switch (opt) {
		case OPT_DATA: data = optarg; break;
		case OPT_OUT: out = optarg; break;
		case OPT_TREE_HEAD: head = optarg; break;
		case OPT_FROM:
			if ((rc = zg_cli_parse_int(u, "--from", optarg, 0,
			    INT64_MAX, &from)) != ZG_EXIT_OK)
				return rc;
			break;
		case 'h':
			printf("usage: zguard %s", u->text);
			return ZG_EXIT_OK;
		default:
			if ((rc = zg_cli_common_option(opt, argv, &g, u)) !=
			    ZG_CLI_CONTINUE)
				return rc;
		}
	}
	if ((rc = zg_cli_expect_args(u, argc, argv, 0, "")) != ZG_EXIT_OK)
		return rc;
	if (data == NULL)
		return zg_cli_usage_error(u, "missing --data DIR");
	return run_export(data, out, (uint64_t)from, head);
}
