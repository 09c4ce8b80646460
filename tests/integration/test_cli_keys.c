/*
 * The `zguard key`, `role`, `grant`, `sa` and `authz` commands against the
 * real daemon: signing keys over HTTP, an offline backup restored into a
 * second data directory that a second daemon then signs with, and the
 * usage errors of bad command lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "zgtest.h"

/* The bundle passphrase of the backup tests. */
#define BUNDLE_PASSPHRASE "correct horse battery staple\n"

/*
 * The example of EIP-155 (ethereum/EIPs, EIPS/eip-155.md, "Example"):
 * private key 0x46...46, nonce 9, gas price 20 gwei, gas 21000, to
 * 0x35...35, value 1 ether, empty data, chain id 1, and the signed
 * transaction it publishes.
 */
#define EIP155_KEY \
	"0x4646464646464646464646464646464646464646464646464646464646464646\n"
#define EIP155_TX                                                            \
	"{\"chainId\":\"1\",\"type\":0,\"nonce\":\"9\",\"to\":"                \
	"\"0x3535353535353535353535353535353535353535\",\"value\":"          \
	"\"1000000000000000000\",\"data\":\"0x\",\"gas\":\"21000\","        \
	"\"gasPrice\":\"20000000000\"}"
#define EIP155_SIGNED                                                        \
	"0xf86c098504a817c800825208943535353535353535353535353535353535353535" \
	"880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71" \
	"ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc6421" \
	"4b297fb1966a3b6d83"

static unsigned seed;
static unsigned name_counter;
static zgt_daemon daemon_under_test;

static zgt_run
cli_on(const zgt_daemon *d, const char *const *args, const char *stdin_text)
{
	return zgt_cli(d, args, stdin_text);
}

static zgt_run
cli(const char *const *args, const char *stdin_text)
{
	return zgt_cli(&daemon_under_test, args, stdin_text);
}

/* Runs the binary with no server address or token, for offline commands. */
static zgt_run
cli_offline(const char *const *args, const char *stdin_text)
{
	return zgt_cli_offline(daemon_under_test.root, args, stdin_text);
}


/* Creates a secp256k1 key and stores its id and address. */
static void
create_key(const char *const *extra, char *id, char *address)
{
	const char *args[16] = {"key", "create", "--algorithm", "secp256k1"};
	size_t n = 4;
	for (; extra != NULL && *extra != NULL; extra++)
		args[n++] = *extra;
	zgt_run r = cli(args, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "id", id, 64));
	assert_true(zgt_output_field(r.out, "address", address, 64));
	zgt_run_free(&r);
	assert_int_equal(strlen(id), strlen("key_") + 24);
	assert_int_equal(strlen(address), 42);
}

/* Signs message with key id on d and stores the signature. */
static int
sign_message_on(const zgt_daemon *d, const char *id, const char *message,
    char *signature)
{
	const char *args[] = {"key", "sign-message", id, NULL};
	zgt_run r = cli_on(d, args, message);
	int rc = r.rc;
	if (rc == 0 && !zgt_output_field(r.out, "signature", signature, 160))
		rc = -1;
	zgt_run_free(&r);
	return rc;
}

static void
unique_name(const char *prefix, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s-%u-%u", prefix, seed % 100000,
	    name_counter++);
}

static int
setup(void **state)
{
	seed = zgt_seed("test_cli_keys");
	return zgt_daemon_start(&daemon_under_test, NULL);
}

/* Fails the group when the daemon did not stop cleanly or logged an error. */
static int
teardown(void **state)
{
	int rc = zgt_daemon_stop(&daemon_under_test);
	bool bad = zgt_log_has_errors(&daemon_under_test);
	if (rc != 0 || bad)
		printf("daemon exit %d, log errors %d; log in %s\n", rc, bad,
		    daemon_under_test.log_path);
	else
		zgt_daemon_cleanup(&daemon_under_test);
	return rc != 0 || bad ? -1 : 0;
}

static void
key_create_list_show(void **state)
{
	char id[64], address[64], value[200];
	const char *label[] = {"--label", "cli-test", NULL};
	create_key(label, id, address);

	const char *list[] = {"key", "list", "--all", NULL};
	zgt_run r = cli(list, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "ADDRESS"));
	assert_non_null(strstr(r.out, id));
	assert_non_null(strstr(r.out, address));
	zgt_run_free(&r);

	const char *show[] = {"key", "show", id, NULL};
	r = cli(show, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "label", value, sizeof(value)));
	assert_string_equal(value, "cli-test");
	assert_true(zgt_output_field(r.out, "status", value, sizeof(value)));
	assert_string_equal(value, "active");
	assert_non_null(strstr(r.out, "VERSION  STATE"));
	zgt_run_free(&r);
}

static void
key_show_json(void **state)
{
	char id[64], address[64];
	create_key(NULL, id, address);

	const char *show[] = {"key", "show", id, "--json", NULL};
	zgt_run r = cli(show, NULL);
	assert_int_equal(r.rc, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), id);
	assert_string_equal(json_string_value(json_object_get(j, "address")),
	    address);
	json_decref(j);
	zgt_run_free(&r);
}

static void
key_sign_message_deterministic(void **state)
{
	char id[64], address[64], first[160], second[160], other[160];
	create_key(NULL, id, address);

	assert_int_equal(sign_message_on(&daemon_under_test, id, "hello\n",
	    first), 0);
	assert_int_equal(strlen(first), 2 + 130);
	/*
	 * One trailing newline of stdin is dropped, so both runs sign
	 * "hello", and RFC 6979 nonces make the signatures equal.
	 */
	assert_int_equal(sign_message_on(&daemon_under_test, id, "hello",
	    second), 0);
	assert_string_equal(first, second);
	assert_int_equal(sign_message_on(&daemon_under_test, id, "hello!",
	    other), 0);
	assert_string_not_equal(first, other);
}

static void
key_sign_message_hex(void **state)
{
	char id[64], address[64], text_sig[160];
	create_key(NULL, id, address);
	assert_int_equal(sign_message_on(&daemon_under_test, id, "Hello",
	    text_sig), 0);

	/* "Hello" as bytes signs the same message as the text. */
	const char *args[] = {"key", "sign-message", id, "--hex", NULL};
	zgt_run r = cli(args, "0x48656c6c6f\r\n");
	assert_int_equal(r.rc, 0);
	char hex_sig[160];
	assert_true(zgt_output_field(r.out, "signature", hex_sig, sizeof(hex_sig)));
	assert_string_equal(hex_sig, text_sig);
	zgt_run_free(&r);
}

static void
key_rotate_new_version(void **state)
{
	char id[64], address[64], value[200], before[160], after[160];
	create_key(NULL, id, address);
	assert_int_equal(sign_message_on(&daemon_under_test, id, "m", before),
	    0);

	const char *rotate[] = {"key", "rotate", id, NULL};
	zgt_run r = cli(rotate, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "version", value, sizeof(value)));
	assert_string_equal(value, "2");
	assert_true(zgt_output_field(r.out, "address", value, sizeof(value)));
	assert_string_not_equal(value, address);
	zgt_run_free(&r);

	/* Signing uses the new version. */
	assert_int_equal(sign_message_on(&daemon_under_test, id, "m", after),
	    0);
	assert_string_not_equal(before, after);
}

static void
key_disable_stops_signing(void **state)
{
	char id[64], address[64], sig[160];
	create_key(NULL, id, address);

	const char *disable[] = {"key", "disable", id, NULL};
	zgt_run r = cli(disable, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "disabled"));
	zgt_run_free(&r);

	const char *sign[] = {"key", "sign-message", id, NULL};
	r = cli(sign, "m");
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "disabled"));
	zgt_run_free(&r);

	const char *enable[] = {"key", "enable", id, NULL};
	r = cli(enable, NULL);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);
	assert_int_equal(sign_message_on(&daemon_under_test, id, "m", sig), 0);
}

static void
key_destroy_version_keeps_public(void **state)
{
	char id[64], address[64];
	create_key(NULL, id, address);
	const char *rotate[] = {"key", "rotate", id, NULL};
	zgt_run r = cli(rotate, NULL);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);

	const char *destroy[] = {"key", "destroy-version", id, "1", NULL};
	r = cli(destroy, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "destroyed"));
	/* Version 1's public key stays listed. */
	assert_non_null(strstr(r.out, "VERSION  STATE"));
	zgt_run_free(&r);
}

static void
key_import_eip155_example(void **state)
{
	char id[64], address[64], from[64], raw[400];
	const char *import[] = {"key", "import", "--algorithm", "secp256k1",
	    "--label", "eip155", NULL};
	zgt_run r = cli(import, EIP155_KEY);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "id", id, sizeof(id)));
	assert_true(zgt_output_field(r.out, "address", address, sizeof(address)));
	/* The key is never echoed back. */
	assert_null(strstr(r.out, "46464646"));
	zgt_run_free(&r);

	const char *sign[] = {"key", "sign-tx", id, NULL};
	r = cli(sign, EIP155_TX);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "raw-transaction", raw, sizeof(raw)));
	assert_string_equal(raw, EIP155_SIGNED);
	assert_true(zgt_output_field(r.out, "from", from, sizeof(from)));
	assert_string_equal(from, address);
	zgt_run_free(&r);
}

static void
key_import_from_key_file(void **state)
{
	char path[400], address[64];
	snprintf(path, sizeof(path), "%s/import.key", daemon_under_test.root);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("0x4747474747474747474747474747474747474747474747474747474747474747"
	    "\n", f);
	fclose(f);

	const char *import[] = {"key", "import", "--algorithm", "secp256k1",
	    "--key-file", path, NULL};
	zgt_run r = cli(import, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "address", address, sizeof(address)));
	zgt_run_free(&r);
}

static void
key_private_key_not_on_argv(void **state)
{
	const char *flag[] = {"key", "import", "--algorithm", "secp256k1",
	    "--private-key", EIP155_KEY, NULL};
	zgt_run r = cli(flag, NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "unknown option"));
	zgt_run_free(&r);

	const char *positional[] = {"key", "import", "--algorithm",
	    "secp256k1", "0x4646464646464646464646464646464646464646464646464646"
	    "464646464646", NULL};
	r = cli(positional, NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "unexpected argument"));
	zgt_run_free(&r);
}

static void
key_sign_digest_needs_flag(void **state)
{
	char id[64], address[64], value[200];
	const char *digest = "0x000000000000000000000000000000000000000000000000"
	    "0000000000000001";
	create_key(NULL, id, address);
	const char *sign[] = {"key", "sign-digest", id, digest, NULL};
	zgt_run r = cli(sign, NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "allowRawDigest"));
	zgt_run_free(&r);

	const char *raw[] = {"--allow-raw-digest", NULL};
	create_key(raw, id, address);
	r = cli(sign, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "signature", value, sizeof(value)));
	assert_int_equal(strlen(value), 2 + 130);
	zgt_run_free(&r);
}

static void
missing_arguments_exit_2(void **state)
{
	static const struct {
		const char *args[8];
		const char *message;
	} cases[] = {
		{{"key", "show", NULL}, "missing key ID"},
		{{"key", "create", NULL}, "missing --algorithm"},
		{{"key", "destroy-version", "key_000000000000000000000000",
		    NULL}, "missing version N"},
		{{"key", "sign-digest", "key_000000000000000000000000", NULL},
		    "missing DIGEST"},
		{{"key", "sign-digest", "key_000000000000000000000000", "0x12",
		    NULL}, "invalid DIGEST"},
		{{"key", "backup", "--out", "x.zgkb", NULL}, "missing --data"},
		{{"key", "restore", "--data", "d", NULL}, "missing --in"},
		{{"role", "show", NULL}, "missing role NAME"},
		{{"grant", "add", "alice", NULL}, "missing ROLE"},
		{{"grant", "list", "a/b", NULL}, "invalid user id"},
		{{"sa", "token", NULL}, "missing service account ID"},
		{{"authz", "check", "alice", "workflows/w1", NULL},
		    "missing ACTION"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		zgt_run r = cli(cases[i].args, NULL);
		printf("case %zu: %s\n", i, cases[i].message);
		assert_int_equal(r.rc, 2);
		assert_non_null(strstr(r.err, cases[i].message));
		assert_non_null(strstr(r.err, "--help"));
		zgt_run_free(&r);
	}
}

static void
role_create_show_delete(void **state)
{
	char name[64], body[300], value[300];
	unique_name("ops", name, sizeof(name));
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"description\":\"ops\","
	    "\"permissions\":[{\"resource\":\"keys/*\",\"actions\":[\"read\"],"
	    "\"effect\":\"allow\"}]}", name);
	const char *create[] = {"role", "create", NULL};
	zgt_run r = cli(create, body);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "name", value, sizeof(value)));
	assert_string_equal(value, name);
	zgt_run_free(&r);

	const char *show[] = {"role", "show", name, NULL};
	r = cli(show, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "keys/*"));
	zgt_run_free(&r);

	const char *list[] = {"role", "list", NULL};
	r = cli(list, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, name));
	assert_non_null(strstr(r.out, "admin"));
	zgt_run_free(&r);

	const char *del[] = {"role", "delete", name, NULL};
	r = cli(del, NULL);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);
	r = cli(show, NULL);
	assert_int_equal(r.rc, 1);
	zgt_run_free(&r);
}

static void
role_update_replaces(void **state)
{
	char name[64], body[300];
	unique_name("upd", name, sizeof(name));
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"permissions\":[]}",
	    name);
	const char *create[] = {"role", "create", NULL};
	zgt_run r = cli(create, body);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);

	const char *update[] = {"role", "update", name, NULL};
	r = cli(update, "{\"description\":\"second\",\"permissions\":[],"
	    "\"inherits\":[\"viewer\"]}");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "second"));
	assert_non_null(strstr(r.out, "viewer"));
	zgt_run_free(&r);
}

static void
role_builtin_delete_rejected(void **state)
{
	const char *del[] = {"role", "delete", "admin", NULL};
	zgt_run r = cli(del, NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "built in"));
	zgt_run_free(&r);
}

static void
grant_add_check_revoke(void **state)
{
	char user[64];
	unique_name("user", user, sizeof(user));
	const char *check[] = {"authz", "check", user, "workflows/w1", "read",
	    NULL};
	zgt_run r = cli(check, NULL);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out, "false"));
	zgt_run_free(&r);

	const char *add[] = {"grant", "add", user, "viewer", "--expires-at",
	    "2099-01-01T00:00:00Z", NULL};
	r = cli(add, NULL);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);

	const char *list[] = {"grant", "list", user, NULL};
	r = cli(list, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "viewer"));
	assert_non_null(strstr(r.out, "2099-01-01T00:00:00Z"));
	zgt_run_free(&r);

	r = cli(check, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "viewer"));
	zgt_run_free(&r);

	const char *revoke[] = {"grant", "revoke", user, "viewer", NULL};
	r = cli(revoke, NULL);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);
	r = cli(check, NULL);
	assert_int_equal(r.rc, 1);
	zgt_run_free(&r);
}

static void
sa_create_token_delete(void **state)
{
	char name[64], id[80], token[200];
	unique_name("bot", name, sizeof(name));
	snprintf(id, sizeof(id), "sa:%s", name);
	const char *create[] = {"sa", "create", name, "--description", "a bot",
	    "--role", "viewer", NULL};
	zgt_run r = cli(create, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, id));
	zgt_run_free(&r);

	const char *list[] = {"sa", "list", NULL};
	r = cli(list, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, id));
	zgt_run_free(&r);

	const char *tok[] = {"sa", "token", id, "--ttl", "600", NULL};
	r = cli(tok, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "token", token, sizeof(token)));
	assert_true(strlen(token) > 16);
	zgt_run_free(&r);

	const char *del[] = {"sa", "delete", id, NULL};
	r = cli(del, NULL);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);
	const char *show[] = {"sa", "show", id, NULL};
	r = cli(show, NULL);
	assert_int_equal(r.rc, 1);
	zgt_run_free(&r);
}

/* Writes a backup of the first daemon's keys to path; returns the output. */
static zgt_run
backup_to(const char *path)
{
	const char *args[] = {"key", "backup", "--data", daemon_under_test.data,
	    "--out", path, NULL};
	return cli_offline(args, BUNDLE_PASSPHRASE);
}

static void
backup_restore_same_signer(void **state)
{
	char id[64], address[64], path[400], value[200];
	char sig1[160], sig2[160];
	zgt_daemon second;
	struct stat sb;

	create_key(NULL, id, address);
	assert_int_equal(sign_message_on(&daemon_under_test, id, "restore me",
	    sig1), 0);

	snprintf(path, sizeof(path), "%s/keys.zgkb", daemon_under_test.root);
	zgt_run r = backup_to(path);
	if (r.rc != 0)
		printf("backup: %s", r.err);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "exported"));
	zgt_run_free(&r);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* Restore into a new data directory before its daemon starts. */
	assert_int_equal(zgt_daemon_prepare(&second, NULL), 0);
	const char *restore[] = {"key", "restore", "--data", second.data,
	    "--in", path, NULL};
	r = cli_offline(restore, BUNDLE_PASSPHRASE);
	if (r.rc != 0)
		printf("restore: %s", r.err);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "restored"));
	zgt_run_free(&r);
	assert_int_equal(zgt_daemon_launch(&second), 0);

	const char *show[] = {"key", "show", id, NULL};
	r = cli_on(&second, show, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(zgt_output_field(r.out, "address", value, sizeof(value)));
	assert_string_equal(value, address);
	zgt_run_free(&r);
	/* The same private key makes the same RFC 6979 signature. */
	assert_int_equal(sign_message_on(&second, id, "restore me", sig2), 0);
	assert_string_equal(sig1, sig2);

	assert_int_equal(zgt_daemon_stop(&second), 0);
	assert_false(zgt_log_has_sanitizer_report(&second));
	zgt_daemon_cleanup(&second);
}

static void
restore_wrong_passphrase(void **state)
{
	char path[400], dir[400];
	snprintf(path, sizeof(path), "%s/wrong.zgkb", daemon_under_test.root);
	zgt_run r = backup_to(path);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);

	snprintf(dir, sizeof(dir), "%s/wrong-data", daemon_under_test.root);
	const char *restore[] = {"key", "restore", "--data", dir, "--in", path,
	    NULL};
	r = cli_offline(restore, "not the passphrase\n");
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "passphrase is wrong"));
	zgt_run_free(&r);
	/* The passphrase is checked before the directory is created. */
	assert_int_equal(access(dir, F_OK), -1);
}

/* Counts the entries of dir other than "." and "..", or -1. */
static int
dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* A wrong passphrase or a file that is not a bundle leaves an empty
 * target directory empty: no seal.key, no zguard.db, no lock file. */
static void
restore_failure_leaves_dir_empty(void **state)
{
	char path[400], junk[400], dir[400];
	snprintf(path, sizeof(path), "%s/empty.zgkb", daemon_under_test.root);
	zgt_run r = backup_to(path);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);

	snprintf(dir, sizeof(dir), "%s/empty-data", daemon_under_test.root);
	assert_int_equal(mkdir(dir, 0700), 0);
	const char *restore[] = {"key", "restore", "--data", dir, "--in", path,
	    NULL};
	r = cli_offline(restore, "not the passphrase\n");
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "passphrase is wrong"));
	zgt_run_free(&r);
	assert_int_equal(dir_entries(dir), 0);

	snprintf(junk, sizeof(junk), "%s/junk.zgkb", daemon_under_test.root);
	FILE *f = fopen(junk, "w");
	assert_non_null(f);
	fputs("not a key backup", f);
	fclose(f);
	const char *restore_junk[] = {"key", "restore", "--data", dir, "--in",
	    junk, NULL};
	r = cli_offline(restore_junk, BUNDLE_PASSPHRASE);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "not a zguard key backup"));
	zgt_run_free(&r);
	assert_int_equal(dir_entries(dir), 0);
}

static void
restore_rejects_running_daemon(void **state)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/locked.zgkb", daemon_under_test.root);
	zgt_run r = backup_to(path);
	assert_int_equal(r.rc, 0);
	zgt_run_free(&r);

	const char *restore[] = {"key", "restore", "--data",
	    daemon_under_test.data, "--in", path, NULL};
	r = cli_offline(restore, BUNDLE_PASSPHRASE);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "in use"));
	zgt_run_free(&r);
}

static void
backup_keeps_existing_file(void **state)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/exists.zgkb", daemon_under_test.root);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("keep me", f);
	fclose(f);

	zgt_run r = backup_to(path);
	assert_int_equal(r.rc, 3);
	assert_non_null(strstr(r.err, "already exists"));
	zgt_run_free(&r);
	assert_true(zgt_file_contains(path, "keep me", 7));
}

static void
backup_short_passphrase(void **state)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/short.zgkb", daemon_under_test.root);
	const char *args[] = {"key", "backup", "--data", daemon_under_test.data,
	    "--out", path, NULL};
	zgt_run r = cli_offline(args, "short\n");
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "at least 12"));
	zgt_run_free(&r);
	assert_int_equal(access(path, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_create_list_show),
		cmocka_unit_test(key_show_json),
		cmocka_unit_test(key_sign_message_deterministic),
		cmocka_unit_test(key_sign_message_hex),
		cmocka_unit_test(key_rotate_new_version),
		cmocka_unit_test(key_disable_stops_signing),
		cmocka_unit_test(key_destroy_version_keeps_public),
		cmocka_unit_test(key_import_eip155_example),
		cmocka_unit_test(key_import_from_key_file),
		cmocka_unit_test(key_private_key_not_on_argv),
		cmocka_unit_test(key_sign_digest_needs_flag),
		cmocka_unit_test(missing_arguments_exit_2),
		cmocka_unit_test(role_create_show_delete),
		cmocka_unit_test(role_update_replaces),
		cmocka_unit_test(role_builtin_delete_rejected),
		cmocka_unit_test(grant_add_check_revoke),
		cmocka_unit_test(sa_create_token_delete),
		cmocka_unit_test(backup_restore_same_signer),
		cmocka_unit_test(restore_wrong_passphrase),
		cmocka_unit_test(restore_failure_leaves_dir_empty),
		cmocka_unit_test(restore_rejects_running_daemon),
		cmocka_unit_test(backup_keeps_existing_file),
		cmocka_unit_test(backup_short_passphrase),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
