/* `zguard unseal` and `zguard sys ...`: the seal and the root key. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmdutil.h"

/* The maximum passphrase length the client sends, in bytes. */
#define PASSPHRASE_MAX 1024

static const struct zg_cli_usage unseal_usage = {
	"unseal",
	"unseal [--file FILE] [OPTIONS]\n\n"
	"Sends the passphrase that unseals a daemon started with "
	"seal = passphrase.\n\n"
	"Options:\n"
	"  --file FILE        read the passphrase from FILE. Without it, the\n"
	"                     passphrase is prompted for with echo off when\n"
	"                     stdin is a terminal, else read from stdin. One\n"
	"                     trailing newline is ignored.\n\n"
	"Output: one line \"sealed  false\", or the JSON with --json.\n"
	"No token is needed.\n",
	true,
};

/*
 * Reads one line from the terminal on stdin with echo off, prompting on
 * stderr. The terminal settings are restored before returning.
 * NOTE: a signal that kills the process while it waits leaves echo off.
 */
static int
prompt_passphrase(zg_buf *out)
{
	int rc = ZG_EXIT_IO;
	struct termios old, quiet;
	char ch = 0;

	if (tcgetattr(0, &old) == -1) {
		fprintf(stderr, "zguard: cannot read the terminal settings: "
		    "%s\n", strerror(errno));
		return ZG_EXIT_IO;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	fputs("Passphrase: ", stderr);
	fflush(stderr);
	if (tcsetattr(0, TCSAFLUSH, &quiet) == -1) {
		fprintf(stderr, "\nzguard: cannot turn off echo: %s\n",
		    strerror(errno));
		return ZG_EXIT_IO;
	}
	for (;;) {
		ssize_t n = read(0, &ch, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "\nzguard: cannot read the passphrase: "
			    "%s\n", strerror(errno));
			goto out;
		}
		if (n == 0 || ch == '\n')
			break;
		if (out->len >= PASSPHRASE_MAX) {
			fprintf(stderr, "\nzguard: the passphrase is longer "
			    "than %d bytes\n", PASSPHRASE_MAX);
			rc = ZG_EXIT_USAGE;
			goto out;
		}
		if (zg_buf_append_u8(out, (uint8_t)ch) != ZG_OK) {
			fprintf(stderr, "\nzguard: out of memory\n");
			goto out;
		}
	}
	fputc('\n', stderr);
	if (out->len == 0) {
		fprintf(stderr, "zguard: the passphrase is empty\n");
		rc = ZG_EXIT_USAGE;
		goto out;
	}
	if (zg_buf_append_u8(out, 0) != ZG_OK) {
		fprintf(stderr, "zguard: out of memory\n");
		goto out;
	}
	out->len--;
	/* success */
	rc = ZG_EXIT_OK;
out:
	ch = 0;
	tcsetattr(0, TCSAFLUSH, &old);
	if (rc != ZG_EXIT_OK)
		zg_buf_free(out);
	return rc;
}

int
zg_cmd_unseal(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &unseal_usage;
	struct zg_cli_globals g = {0};
	const char *file = NULL;
	zg_buf pass = ZG_BUF_INIT;
	zg_client *c = NULL;
	json_t *body = NULL, *resp = NULL;
	long status;
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, opts,
	    NULL)) != -1) {
		if (opt == 'f')
			file = optarg;
		else if ((rc = zg_cli_common_option(opt, argv, &g, u)) !=
		    ZG_CLI_CONTINUE)
			return rc;
	}
	if ((rc = zg_cli_expect_args(u, argc, argv, 0, "")) != ZG_EXIT_OK)
		return rc;
	/* Check the address before the passphrase is typed. */
	if ((rc = zg_client_new(&g, false, &c)) != ZG_EXIT_OK)
		goto out;

	if (file == NULL && isatty(0))
		rc = prompt_passphrase(&pass);
	else
		rc = zg_cli_read_secret(file, false, PASSPHRASE_MAX,
		    "passphrase", &pass);
	if (rc != ZG_EXIT_OK)
		goto out;

	rc = ZG_EXIT_IO;
	body = json_object();
	if (body == NULL || json_object_set_new(body, "passphrase",
	    json_stringn((const char *)pass.data, pass.len)) != 0) {
		fprintf(stderr, "zguard: out of memory\n");
		goto out;
	}
	zg_buf_free(&pass);
	if ((rc = zg_client_request_or_report(c, "POST", "/v1/sys/unseal",
	    body, &status, &resp)) != ZG_EXIT_OK)
		goto out;
	if (g.json)
		zg_cli_print_json(resp);
	else
		rc = zg_cli_print_members(resp,
		    (const char *const[]){"sealed", "sealed", NULL});
out:
	json_decref(body);
	json_decref(resp);
	zg_buf_free(&pass);
	zg_client_free(c);
	return rc;
}

struct sys_route {
	struct zg_cli_usage usage;
	const char *method;
	const char *path;
	bool need_token;
	const char *const *fields; /* label/key pairs of the output */
};

static const struct sys_route seal_status_route = {
	{"sys seal-status", "sys seal-status [OPTIONS]\n\n"
	    "Prints whether the daemon is sealed and how it unseals.\n"
	    "No token is needed.\n\n"
	    "Output: \"sealed  true|false\" and \"seal  keyfile|passphrase\"\n"
	    "lines, or the JSON with --json.\n", true},
	"GET", "/v1/sys/seal-status", false,
	(const char *const[]){"sealed", "sealed", "seal", "seal", NULL},
};

static const struct sys_route rotate_root_route = {
	{"sys rotate-root", "sys rotate-root [OPTIONS]\n\n"
	    "Creates a new root key and rewraps every key under it. Needs an\n"
	    "admin token.\n\n"
	    "Output: \"root-version  N\" and \"rewrapped-keys  N\" lines, or\n"
	    "the JSON with --json.\n", true},
	"POST", "/v1/sys/rotate-root", true,
	(const char *const[]){"root-version", "rootVersion",
	    "rewrapped-keys", "rewrappedKeys", NULL},
};

static const struct sys_route rotate_kek_route = {
	{"sys rotate-kek", "sys rotate-kek [OPTIONS]\n\n"
	    "Creates a new key-encryption key for new credential versions.\n"
	    "Needs an admin token.\n\n"
	    "Output: a \"kek-version  N\" line, or the JSON with --json.\n",
	    true},
	"POST", "/v1/sys/rotate-kek", true,
	(const char *const[]){"kek-version", "kekVersion", NULL},
};

static int
run_sys_route(const struct sys_route *r, int argc, char **argv)
{
	static const struct option opts[] = {
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct zg_cli_globals g = {0};
	zg_client *c = NULL;
	json_t *resp = NULL;
	long status;
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, opts,
	    NULL)) != -1) {
		if ((rc = zg_cli_common_option(opt, argv, &g, &r->usage)) !=
		    ZG_CLI_CONTINUE)
			return rc;
	}
	if ((rc = zg_cli_expect_args(&r->usage, argc, argv, 0, "")) !=
	    ZG_EXIT_OK)
		return rc;
	if ((rc = zg_client_new(&g, r->need_token, &c)) != ZG_EXIT_OK)
		goto out;
	if ((rc = zg_client_request_or_report(c, r->method, r->path, NULL,
	    &status, &resp)) != ZG_EXIT_OK)
		goto out;
	if (g.json)
		zg_cli_print_json(resp);
	else
		rc = zg_cli_print_members(resp, r->fields);
out:
	json_decref(resp);
	zg_client_free(c);
	return rc;
}

static int
cmd_seal_status(int argc, char **argv)
{
	return run_sys_route(&seal_status_route, argc, argv);
}

static int
cmd_rotate_root(int argc, char **argv)
{
	return run_sys_route(&rotate_root_route, argc, argv);
}

static int
cmd_rotate_kek(int argc, char **argv)
{
	return run_sys_route(&rotate_kek_route, argc, argv);
}

int
zg_cmd_sys(int argc, char **argv)
{
	static const struct zg_cli_subcommand table[] = {
		{"seal-status", cmd_seal_status,
		    "print whether the daemon is sealed"},
		{"rotate-root", cmd_rotate_root,
		    "create a new root key and rewrap all keys (admin)"},
		{"rotate-kek", cmd_rotate_kek,
		    "create a new key-encryption key (admin)"},
		{NULL, NULL, NULL},
	};
	return zg_cli_dispatch("sys", "Inspect the seal and rotate the "
	    "daemon's keys.", table, argc, argv);
}
