/*
 * `zguard audit verify|export`: local commands that read the data
 * directory's database directly, read-only and without the data directory
 * lock, so they run beside a live daemon. The checks themselves are in
 * audit/verify.c and audit/verify_export.c. The export command itself is
 * in audit_export_cmd.c, and the client commands that call the daemon's
 * audit routes are in audit_http_cmd.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/verify.h"
#include "base/codec.h"
#include "base/timeutil.h"
#include "cli/audit_cmd_internal.h"
#include "cli/cli.h"
#include "cli/cmdutil.h"

/* Largest public key or tree head file that is read. */
#define SMALL_FILE_MAX 65536

static const struct zg_cli_usage verify_usage = {
	"audit verify",
	"audit verify --data DIR [--public-key HEX|FILE] [--quiet]\n"
	"       zguard audit verify --events FILE --tree-head FILE "
	"[--public-key HEX|FILE]\n\n"
	"Checks that the audit log is the one that was written. With --data it\n"
	"reads DIR/zguard.db read-only, which works while the daemon runs, and\n"
	"recomputes every leaf hash from the events' canonical bytes, every\n"
	"stored Merkle node and the root at every signed tree head, and checks\n"
	"each head's Ed25519 signature. With --events and --tree-head it\n"
	"checks an export from 'zguard audit export' offline.\n\n"
	"Options:\n"
	"  --data DIR             data directory of the log to verify\n"
	"  --public-key HEX|FILE  the audit public key: 64 hex digits, or a file\n"
	"                         holding them or the JSON of\n"
	"                         GET /v1/audit/public-key. Default with --data:\n"
	"                         derived from the vault when it uses the\n"
	"                         key-file seal. Default offline: the tree head\n"
	"                         file's publicKey, which is not pinned.\n"
	"  --events FILE          export lines to verify offline ('-': stdin)\n"
	"  --tree-head FILE       exported tree head to verify them against\n"
	"  --quiet                print nothing when the log is valid, and no\n"
	"                         progress\n"
	"  -h, --help             print this help\n\n"
	"Exit codes:\n"
	"  0  the log is valid\n"
	"  1  verification failed; the first failure is printed\n"
	"  2  usage error, or no public key is available\n"
	"  3  a file or the database cannot be read\n",
	false,
};

/* Reads at most SMALL_FILE_MAX bytes of path into a NUL-terminated *out. */
static int
read_small_file(const char *path, char **out, size_t *len)
{
	char *buf = malloc(SMALL_FILE_MAX + 1);
	FILE *f = fopen(path, "r");
	int rc = ZG_EXIT_IO;

	*out = NULL;
	if (buf == NULL || f == NULL) {
		fprintf(stderr, "zguard: cannot open %s: %s\n", path,
		    f == NULL ? strerror(errno) : "out of memory");
		goto out;
	}
	size_t n = fread(buf, 1, SMALL_FILE_MAX + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "zguard: cannot read %s\n", path);
		goto out;
	}
	if (n > SMALL_FILE_MAX) {
		fprintf(stderr, "zguard: %s is larger than %d bytes\n", path,
		    SMALL_FILE_MAX);
		rc = ZG_EXIT_USAGE;
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = ZG_EXIT_OK;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return rc;
}

/* Parses --public-key: 64 hex digits, else a file with a key in it. */
static int
load_public_key(const char *arg, uint8_t pub[ZG_ED25519_PUB_LEN])
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (zg_verify_parse_public_key(arg, strlen(arg), pub) == ZG_OK)
		return ZG_EXIT_OK;
	if ((rc = read_small_file(arg, &text, &len)) != ZG_EXIT_OK)
		return rc;
	if (zg_verify_parse_public_key(text, len, pub) != ZG_OK) {
		fprintf(stderr, "zguard: --public-key: %s contains neither 64 hex "
		    "digits nor JSON with a \"publicKey\" member\n", arg);
		rc = ZG_EXIT_USAGE;
	}
	free(text);
	return rc;
}

/*
 * Derives the audit public key from the vault of a key-file sealed data
 * directory, through a keyring opened on the read-only store. Sets
 * *have_pub false when the vault has no audit signing key yet.
 */
static int
derive_public_key(zg_store *st, const char *dir,
    uint8_t pub[ZG_ED25519_PUB_LEN], bool *have_pub)
{
	uint8_t *meta = NULL, *root = NULL;
	size_t meta_len = 0, root_len = 0;
	uint8_t *seed = NULL;
	zg_keyring *kr = NULL;
	zg_errmsg em = {0};
	int rc = ZG_EXIT_USAGE;
	zg_err err;

	*have_pub = false;
	if (st->ops->meta_get(st, VAULT_META_SEAL, &meta, &meta_len) != ZG_OK ||
	    st->ops->meta_get(st, VAULT_META_ROOT, &root, &root_len) != ZG_OK) {
		fprintf(stderr, "zguard: the database in %s has no vault keys, "
		    "so the audit public key cannot be derived; pass "
		    "--public-key\n", dir);
		goto out;
	}
	if (meta_len < 2 || meta[1] != ZG_SEAL_KEYFILE) {
		fprintf(stderr, "zguard: the vault in %s is sealed by a "
		    "passphrase, so the audit public key cannot be derived "
		    "offline; pass --public-key HEX, or a file with the output "
		    "of GET /v1/audit/public-key\n", dir);
		goto out;
	}
	rc = ZG_EXIT_IO;
	(void)zg_crypto_init(1u << 16);
	if ((err = zg_keyring_open(st, dir, ZG_SEAL_KEYFILE, &kr, &em)) !=
	    ZG_OK) {
		fprintf(stderr, "zguard: cannot open the vault keys in %s to "
		    "derive the audit public key: %s; pass --public-key\n", dir,
		    em.text[0] ? em.text : zg_strerror(err));
		goto out;
	}
	if ((seed = zg_secure_alloc(ZG_KEY_LEN)) == NULL)
		goto out;
	err = zg_keyring_system_key(kr, ZG_AUDIT_SIGNING_KEY, false, seed);
	if (err == ZG_OK && (err = zg_ed25519_public(seed, pub)) == ZG_OK)
		*have_pub = true;
	if (err != ZG_OK && err != ZG_ERR_NOT_FOUND) {
		fprintf(stderr, "zguard: cannot read the audit signing key: "
		    "%s\n", zg_strerror(err));
		goto out;
	}
	rc = ZG_EXIT_OK;
out:
	zg_secure_free(seed, ZG_KEY_LEN);
	zg_keyring_close(kr);
	free(meta);
	free(root);
	return rc;
}

int
zg_cli_audit_open_store(const char *dir, zg_store **st)
{
	char path[1100];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/zguard.db", dir);
	if (stat(path, &sb) != 0) {
		fprintf(stderr, "zguard: cannot open %s: %s\n", path,
		    strerror(errno));
		return ZG_EXIT_IO;
	}
	zg_err err = zg_store_sqlite_open_readonly(dir, st);
	if (err != ZG_OK) {
		fprintf(stderr, "zguard: cannot open the database %s read-only: "
		    "%s\n", path, zg_strerror(err));
		return ZG_EXIT_IO;
	}
	return ZG_EXIT_OK;
}

static void
print_progress(void *ctx, uint64_t done, uint64_t total)
{
	bool *shown = ctx;
	fprintf(stderr, "\rverified %" PRIu64 " of %" PRIu64 " events", done,
	    total);
	*shown = true;
}

/* Prints the verdict of report and returns the exit code. */
static int
print_verdict(const zg_verify_report *r, bool quiet, const char *what)
{
	char root[65], ts[40];

	if (r->failure != ZG_VERIFY_PASSED) {
		fprintf(stderr, "zguard: %s failed verification: %s\n", what,
		    r->message);
		return ZG_EXIT_FAILED;
	}
	if (quiet)
		return ZG_EXIT_OK;
	if (r->heads == 0) {
		printf("%s verified: it is empty\n", what);
		return ZG_EXIT_OK;
	}
	zg_hex_encode(r->last_head.root, 32, root);
	zg_time_format_rfc3339_us(r->last_head.timestamp, ts, sizeof(ts));
	printf("%s verified: %" PRIu64 " events, tree heads checked: %" PRIu64
	    "; the latest head covers %" PRIu64 " events with root %s, "
	    "signed %s", what, r->events, r->heads, r->last_head.tree_size,
	    root, ts);
	uint64_t unsigned_events = r->events - r->last_head.tree_size;
	if (unsigned_events == 1)
		printf("; the 1 event after it is not signed yet");
	else if (unsigned_events > 1)
		printf("; the %" PRIu64 " events after it are not signed yet",
		    unsigned_events);
	printf("\n");
	return ZG_EXIT_OK;
}

static int
verify_data(const char *dir, const char *key_arg, bool quiet)
{
	uint8_t pub[ZG_ED25519_PUB_LEN];
	bool have_pub = key_arg != NULL;
	bool progress_shown = false;
	zg_store *st = NULL;
	zg_verify_report *report = calloc(1, sizeof(*report));
	int rc = ZG_EXIT_IO;

	if (report == NULL)
		goto out;
	if (key_arg != NULL && (rc = load_public_key(key_arg, pub)) !=
	    ZG_EXIT_OK)
		goto out;
	if ((rc = zg_cli_audit_open_store(dir, &st)) != ZG_EXIT_OK)
		goto out;
	if (key_arg == NULL &&
	    (rc = derive_public_key(st, dir, pub, &have_pub)) != ZG_EXIT_OK)
		goto out;
	bool tty = !quiet && isatty(STDERR_FILENO);
	zg_err err = zg_verify_store(st, have_pub ? pub : NULL,
	    tty ? print_progress : NULL, &progress_shown, report);
	if (progress_shown)
		fputc('\n', stderr);
	if (err != ZG_OK) {
		fprintf(stderr, "zguard: cannot read the audit log in %s: %s\n",
		    dir, zg_strerror(err));
		rc = ZG_EXIT_IO;
		goto out;
	}
	rc = print_verdict(report, quiet, "audit log");
out:
	if (st != NULL)
		st->ops->close(st);
	free(report);
	return rc;
}

static int
verify_offline(const char *events_path, const char *head_path,
    const char *key_arg, bool quiet)
{
	uint8_t pub[ZG_ED25519_PUB_LEN], head_pub[ZG_ED25519_PUB_LEN];
	bool head_has_pub = false;
	zg_tree_head_row head;
	zg_errmsg em = {0};
	char *text = NULL;
	size_t len = 0;
	json_t *obj = NULL;
	FILE *events = NULL;
	zg_verify_report *report = calloc(1, sizeof(*report));
	int rc = ZG_EXIT_IO;

	if (report == NULL)
		goto out;
	if (key_arg != NULL && (rc = load_public_key(key_arg, pub)) !=
	    ZG_EXIT_OK)
		goto out;
	if ((rc = read_small_file(head_path, &text, &len)) != ZG_EXIT_OK)
		goto out;
	obj = json_loadb(text, len, 0, NULL);
	if (zg_verify_parse_head(obj, &head, head_pub, &head_has_pub, &em) !=
	    ZG_OK) {
		fprintf(stderr, "zguard: the tree head in %s is invalid: %s\n",
		    head_path, obj == NULL ? "not JSON" : em.text);
		rc = ZG_EXIT_FAILED;
		goto out;
	}
	if (key_arg == NULL && !head_has_pub) {
		fprintf(stderr, "zguard: %s has no publicKey; pass "
		    "--public-key\n", head_path);
		rc = ZG_EXIT_USAGE;
		goto out;
	}
	if (key_arg == NULL) {
		memcpy(pub, head_pub, sizeof(pub));
		fprintf(stderr, "zguard: warning: using the publicKey in %s, "
		    "which is not pinned: whoever can change the export can "
		    "change it too; pass --public-key with a key you trust\n",
		    head_path);
	}
	bool is_stdin = strcmp(events_path, "-") == 0;
	if ((events = is_stdin ? stdin : fopen(events_path, "r")) == NULL) {
		fprintf(stderr, "zguard: cannot open %s: %s\n", events_path,
		    strerror(errno));
		rc = ZG_EXIT_IO;
		goto out;
	}
	zg_err err = zg_verify_export(events, events_path, &head, pub, report);
	if (err != ZG_OK) {
		fprintf(stderr, "zguard: cannot read %s: %s\n", events_path,
		    zg_strerror(err));
		rc = ZG_EXIT_IO;
		goto out;
	}
	rc = print_verdict(report, quiet, "audit export");
out:
	if (events != NULL && events != stdin)
		fclose(events);
	json_decref(obj);
	free(text);
	free(report);
	return rc;
}

static int
cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, OPT_DATA},
		{"public-key", required_argument, NULL, OPT_PUBLIC_KEY},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"events", required_argument, NULL, OPT_EVENTS},
		{"tree-head", required_argument, NULL, OPT_TREE_HEAD},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &verify_usage;
	struct zg_cli_globals g = {0};
	const char *data = NULL, *key = NULL, *events = NULL, *head = NULL;
	bool quiet = false;
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, opts,
	    NULL)) != -1) {
		switch (opt) {
		case OPT_DATA: data = optarg; break;
		case OPT_PUBLIC_KEY: key = optarg; break;
		case OPT_QUIET: quiet = true; break;
		case OPT_EVENTS: events = optarg; break;
		case OPT_TREE_HEAD: head = optarg; break;
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
	if (data != NULL && (events != NULL || head != NULL))
		return zg_cli_usage_error(u, "--data cannot be combined with "
		    "--events or --tree-head");
	if (data != NULL)
		return verify_data(data, key, quiet);
	if (events == NULL || head == NULL)
		return zg_cli_usage_error(u, "pass --data DIR, or both --events "
		    "FILE and --tree-head FILE");
	return verify_offline(events, head, key, quiet);
}

static const struct zg_cli_subcommand audit_commands[] = {
	{"verify", cmd_verify, "check the audit log's hashes and signatures"},
	{"export", zg_cli_audit_export, "write the audit events as JSON lines"},
	{"tree-head", zg_cli_audit_tree_head,
	    "print the server's latest signed tree head"},
	{"events", zg_cli_audit_events, "list the server's audit events"},
	{"record", zg_cli_audit_record, "record an event of your platform"},
	{"erase", zg_cli_audit_erase,
	    "destroy a user's audit personal data (admin)"},
	{"public-key", zg_cli_audit_public_key,
	    "print the key that signs the tree heads"},
	{NULL, NULL, NULL},
};

int
zg_cmd_audit(int argc, char **argv)
{
	return zg_cli_dispatch("audit", "Reads, verifies and records the "
	    "tamper-evident audit log: verify and\nexport read a data "
	    "directory, the other subcommands call the server.",
	    audit_commands, argc, argv);
}
