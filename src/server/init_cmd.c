/* `zguard init`: create a vault sealed by a passphrase. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "authn/authn.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "server/datadir.h"
#include "vault/keyring.h"

#define MIN_PASSPHRASE 12
#define MAX_PASSPHRASE 1024

static const char init_usage[] =
    "usage: zguard init --seal passphrase [--data DIR] [--passphrase-file FILE]\n"
    "\n"
    "Creates a new vault whose root key is sealed by a passphrase (Argon2id,\n"
    "64 MiB, 3 passes). The daemon then starts sealed and needs\n"
    "'zguard unseal' after every start. The passphrase is read from FILE, or\n"
    "else from the terminal (asked twice, not echoed) or standard input; it\n"
    "must have at least 12 characters. A vault with the default key-file\n"
    "seal needs no init: 'zguard serve' creates it.\n"
    "\n"
    "  --seal passphrase       the seal to create (the only one init makes)\n"
    "  --data DIR              data directory (default ./zguard-data)\n"
    "  --passphrase-file FILE  read the passphrase from FILE\n"
    "\n"
    "Set 'seal = passphrase' in the [vault] section of the config file.\n"
    "Exit codes: 0 created, 1 already initialized, 2 usage error, 3 I/O error.\n";

/* Reads one line into buf without echo when stdin is a terminal. */
static int
read_secret_line(FILE *in, const char *prompt, char *buf, size_t bufsz)
{
	struct termios old, quiet;
	bool tty = isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0;
	if (tty) {
		fputs(prompt, stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(in), TCSAFLUSH, &quiet);
	}
	char *r = fgets(buf, (int)bufsz, in);
	if (tty) {
		tcsetattr(fileno(in), TCSAFLUSH, &old);
		fputs("\n", stderr);
	}
	if (r == NULL)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static int
read_passphrase(const char *file, char *pass, size_t passsz)
{
	char again[MAX_PASSPHRASE + 2];
	FILE *in = stdin;
	int rc = -1;

	if (file != NULL && (in = fopen(file, "r")) == NULL) {
		fprintf(stderr, "zguard init: cannot open %s\n", file);
		return ZG_EXIT_IO;
	}
	if (read_secret_line(in, "New passphrase: ", pass, passsz) != 0) {
		fprintf(stderr, "zguard init: no passphrase was given\n");
		rc = ZG_EXIT_USAGE;
		goto out;
	}
	if (file == NULL && isatty(fileno(stdin))) {
		if (read_secret_line(stdin, "Repeat passphrase: ", again,
		    sizeof(again)) != 0 || strcmp(again, pass) != 0) {
			fprintf(stderr, "zguard init: the passphrases differ\n");
			rc = ZG_EXIT_USAGE;
			goto out;
		}
	}
	if (strlen(pass) < MIN_PASSPHRASE) {
		fprintf(stderr, "zguard init: the passphrase has %zu characters; "
		    "use at least %d\n", strlen(pass), MIN_PASSPHRASE);
		rc = ZG_EXIT_USAGE;
		goto out;
	}
	rc = ZG_EXIT_OK;
out:
	zg_wipe(again, sizeof(again));
	if (in != stdin)
		fclose(in);
	return rc;
}

int
zg_cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{"seal", required_argument, NULL, 's'},
		{"data", required_argument, NULL, 'd'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *seal = NULL, *pass_file = NULL;
	char data[1024] = "./zguard-data";
	char pass[MAX_PASSPHRASE + 2];
	zg_errmsg em = {0};
	zg_store *st = NULL;
	zg_keyring *kr = NULL;
	int lock_fd = -1;
	int rc = ZG_EXIT_IO;
	int c;
	zg_err err;

	memset(pass, 0, sizeof(pass));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': seal = optarg; break;
		case 'd': snprintf(data, sizeof(data), "%s", optarg); break;
		case 'p': pass_file = optarg; break;
		case 'h':
			fputs(init_usage, stdout);
			return ZG_EXIT_OK;
		default:
			fprintf(stderr, "zguard init: unknown or incomplete option "
			    "'%s'; run 'zguard init --help'\n", argv[optind - 1]);
			return ZG_EXIT_USAGE;
		}
	}
	if (seal == NULL || strcmp(seal, "passphrase") != 0) {
		fprintf(stderr, "zguard init: --seal passphrase is required; the "
		    "key-file seal is created by 'zguard serve' itself\n");
		return ZG_EXIT_USAGE;
	}
	if ((rc = read_passphrase(pass_file, pass, sizeof(pass))) != ZG_EXIT_OK)
		goto out;
	rc = ZG_EXIT_IO;
	zg_harden_process();
	zg_crypto_init(1u << 20);
	if ((err = zg_datadir_open(data, &lock_fd, &em)) != ZG_OK)
		goto fail;
	if ((err = zg_store_sqlite_open(data, &st)) != ZG_OK) {
		zg_fail(&em, err, "cannot open the database in %s", data);
		goto fail;
	}
	zg_argon2_params params = ZG_ARGON2_DEFAULT_PARAMS;
	err = zg_keyring_init_passphrase(st, (const uint8_t *)pass, strlen(pass),
	    &params, &em);
	if (err == ZG_ERR_CONFLICT) {
		rc = ZG_EXIT_FAILED;
		goto fail;
	}
	if (err != ZG_OK ||
	    (err = zg_keyring_open(st, data, ZG_SEAL_PASSPHRASE, &kr, &em)) != ZG_OK ||
	    (err = zg_keyring_unseal(kr, (const uint8_t *)pass, strlen(pass),
	    &em)) != ZG_OK)
		goto fail;
	zg_vault v = {st, kr, 0, NULL};
	if ((err = zg_token_bootstrap(&v, data, &em)) != ZG_OK)
		goto fail;
	printf("Initialized a passphrase-sealed vault in %s.\n"
	    "The admin token is in %s/%s. Start the daemon with seal = "
	    "passphrase in its config, then run 'zguard unseal'.\n", data, data,
	    ZG_ADMIN_TOKEN_FILE);
	rc = ZG_EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "zguard init: %s\n", em.text[0] ? em.text :
	    zg_strerror(err));
out:
	zg_wipe(pass, sizeof(pass));
	zg_keyring_close(kr);
	if (st != NULL)
		st->ops->close(st);
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}
