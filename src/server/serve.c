/* `zguard serve`: start the daemon and run until SIGTERM or SIGINT. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "authn/authenticator.h"
#include "authz/authz.h"
#include "keys/keys.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "server/datadir.h"
#include "server/server.h"
#include "txpolicy/gate.h"
#include "txpolicy/txpolicy.h"

/*
 * Locked heap for every unwrapped key: KEKs, system keys and one 32-byte
 * key per user with audit events, all loaded at unseal. OpenSSL's secure
 * heap hands out blocks of at least 32 bytes, so 4 MiB holds roughly
 * 100,000 keys, fewer as other allocations take their share.
 */
#define SECURE_HEAP_BYTES (4u << 20)

static const char serve_usage[] =
    "usage: zguard serve [--config FILE] [--data DIR] [--listen HOST:PORT]\n"
    "                    [--log-level LEVEL]\n"
    "\n"
    "Runs the zguard daemon in the foreground; logs go to stderr.\n"
    "\n"
    "  --config FILE       INI file with [server], [vault], [log], [audit],\n"
    "                      [rpc] and [txpolicy] settings (see\n"
    "                      docs/architecture.md)\n"
    "  --data DIR          data directory (default ./zguard-data)\n"
    "  --listen HOST:PORT  numeric address to listen on (default\n"
    "                      127.0.0.1:8420; IPv6 as [::1]:8420)\n"
    "  --log-level LEVEL   debug, info, warn or error (default info)\n"
    "\n"
    "Flags override the config file. On the first start the bootstrap admin\n"
    "token is written to DIR/admin.token (mode 0600).\n"
    "Exit codes: 0 clean stop, 2 usage error, 3 startup failure.\n";

/* Parses flags over a config that already contains the defaults. */
static int
parse_serve_flags(int argc, char **argv, zg_config *cfg)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"data", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"log-level", required_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *data = NULL, *listen = NULL;
	const char *level = NULL;
	zg_errmsg em = {0};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'd': data = optarg; break;
		case 'l': listen = optarg; break;
		case 'v': level = optarg; break;
		case 'h':
			fputs(serve_usage, stdout);
			return -1;
		default:
			fprintf(stderr, "zguard serve: unknown or incomplete "
			    "option '%s'; run 'zguard serve --help'\n",
			    argv[optind - 1]);
			return ZG_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "zguard serve: unexpected argument '%s'; run "
		    "'zguard serve --help'\n", argv[optind]);
		return ZG_EXIT_USAGE;
	}
	if (config_path != NULL &&
	    zg_config_load_file(cfg, config_path, &em) != ZG_OK)
		goto bad;
	if (data != NULL)
		snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", data);
	if (listen != NULL && zg_config_set_listen(cfg, listen, &em) != ZG_OK)
		goto bad;
	if (level != NULL && zg_log_parse_level(level, &cfg->log_level) != 0) {
		zg_fail(&em, ZG_ERR_CONFIG, "invalid --log-level \"%s\"; expected "
		    "debug, info, warn or error", level);
		goto bad;
	}
	if (zg_config_validate(cfg, &em) != ZG_OK)
		goto bad;
	return ZG_EXIT_OK;
bad:
	fprintf(stderr, "zguard serve: %s\n", em.text);
	return ZG_EXIT_USAGE;
}

/* Locks memory, disables dumps and sets up allocators; call once. */
static void
prepare_process(void)
{
	zg_harden_process();
	zg_json_use_wiping_allocator();
	if (zg_crypto_init(SECURE_HEAP_BYTES) != ZG_OK)
		zg_log_warn("keys are not in locked memory: the secure heap "
		    "could not be locked; raise RLIMIT_MEMLOCK (ulimit -l) to "
		    "at least 4096 KiB");
}

/*
 * Opens the key manager, with the PKCS#11 backend when [pkcs11] module is
 * set. A token that cannot be opened (a module that does not load, an
 * unknown label, a wrong PIN) does not stop the daemon: credentials and
 * software keys keep working, and every use of a pkcs11 key gets 503
 * with the reason, which is also logged here.
 */
static zg_err
open_keys(zg_app *app, zg_errmsg *em)
{
	const zg_config *c = &app->cfg;
	zg_pkcs11_config p11 = {
		.module_path = c->pkcs11_module[0] ? c->pkcs11_module : NULL,
		.token_label = c->pkcs11_token_label,
		.pin_file = c->pkcs11_pin_file[0] ? c->pkcs11_pin_file : NULL,
		.pin_env = c->pkcs11_pin_env[0] ? c->pkcs11_pin_env : NULL,
	};
	zg_errmsg p11_em;
	if (p11.module_path != NULL && c->pkcs11_token_label[0] == '\0')
		return zg_fail(em, ZG_ERR_CONFIG, "[pkcs11] module is set but "
		    "token_label is not; the token is chosen by its label");
	memset(&p11_em, 0, sizeof(p11_em));
	zg_err err = zg_keys_open(app->st, app->kr, &p11, &app->keys, &p11_em);
	if (err == ZG_OK && p11.module_path != NULL)
		zg_log_info("PKCS#11 token ready", ZGF_S("module", p11.module_path),
		    ZGF_S("token_label", p11.token_label));
	if (err == ZG_OK || p11.module_path == NULL) {
		if (err != ZG_OK)
			*em = p11_em;
		return err;
	}
	zg_log_error("the PKCS#11 token cannot be used; pkcs11 keys will "
	    "answer 503 until the daemon restarts with a working token",
	    ZGF_S("module", p11.module_path),
	    ZGF_S("token_label", p11.token_label), ZGF_ERR(err),
	    ZGF_S("detail", p11_em.text));
	if ((err = zg_keys_open(app->st, app->kr, NULL, &app->keys, em)) ==
	    ZG_OK)
		zg_keys_set_token_error(app->keys, p11_em.text);
	return err;
}

int
zg_cmd_serve(int argc, char **argv)
{
	zg_app app;
	zg_errmsg em = {0};
	zg_err err;
	int lock_fd = -1;
	int rc = ZG_EXIT_IO;
	sigset_t sigs;

	memset(&app, 0, sizeof(app));
	zg_config_defaults(&app.cfg);
	int prc = parse_serve_flags(argc, argv, &app.cfg);
	if (prc != ZG_EXIT_OK)
		return prc < 0 ? ZG_EXIT_OK : prc;
	zg_log_set_level(app.cfg.log_level);

	/* Block the stop signals before any thread starts, so that every
	 * thread inherits the mask and only sigwait below receives them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	prepare_process();
	zg_log_info("starting", ZGF_S("version", "0.1.0"),
	    ZGF_S("data", app.cfg.data_dir), ZGF_I("pid", getpid()));
	/* Fail before a new data directory gets any key in it. */
	if ((err = zg_server_probe_listen(&app.cfg, &em)) != ZG_OK)
		goto out;
	if ((err = zg_datadir_open(app.cfg.data_dir, &lock_fd, &em)) != ZG_OK)
		goto out;
	if ((err = zg_store_sqlite_open(app.cfg.data_dir, &app.st)) != ZG_OK) {
		zg_fail(&em, err, "cannot open the database in %s",
		    app.cfg.data_dir);
		goto out;
	}
	if ((err = zg_keyring_open(app.st, app.cfg.data_dir, app.cfg.seal,
	    &app.kr, &em)) != ZG_OK)
		goto out;
	app.vault = (zg_vault){app.st, app.kr, app.cfg.max_value_bytes,
	    zg_token_cache_new()};
	if (!zg_keyring_sealed(app.kr) &&
	    (err = zg_token_bootstrap(&app.vault, app.cfg.data_dir, &em)) != ZG_OK)
		goto out;
	if (zg_keyring_sealed(app.kr))
		zg_log_warn("the vault is sealed; unseal it with 'zguard unseal' "
		    "or POST /v1/sys/unseal");
	if ((err = zg_authz_open(app.st, app.cfg.authz_default_roles,
	    &app.authz, &em)) != ZG_OK)
		goto out;
	if ((err = zg_authenticator_open(&app.cfg, &app.vault, &app.authn,
	    &em)) != ZG_OK)
		goto out;
	if ((err = open_keys(&app, &em)) != ZG_OK)
		goto out;
	if ((err = zg_txgate_open(app.st, &app.txgate, &em)) != ZG_OK)
		goto out;
	if ((err = zg_audit_open(app.st, app.kr, &app.cfg, &app.audit,
	    &em)) != ZG_OK)
		goto out;
	if ((err = zg_server_start(&app, &app.server, &em)) != ZG_OK)
		goto out;

	int sig = 0;
	sigwait(&sigs, &sig);
	zg_log_info("stopping", ZGF_S("signal", sig == SIGTERM ? "SIGTERM" :
	    "SIGINT"));
	zg_server_stop(app.server);
	app.server = NULL;
	rc = ZG_EXIT_OK;
	err = ZG_OK;
out:
	if (err != ZG_OK) {
		zg_log_error("startup failed", ZGF_ERR(err),
		    ZGF_S("detail", em.text[0] ? em.text : zg_strerror(err)));
		fprintf(stderr, "zguard serve: %s\n",
		    em.text[0] ? em.text : zg_strerror(err));
	}
	zg_server_stop(app.server);
	zg_audit_close(app.audit);
	zg_authenticator_close(app.authn);
	zg_keys_close(app.keys);
	zg_txgate_close(app.txgate);
	zg_authz_close(app.authz);
	zg_keyring_close(app.kr);
	zg_token_cache_free(app.vault.tokens);
	if (app.st != NULL) {
		/* The limits cache is keyed by the handle's address, which a
		 * later handle may reuse. */
		zg_txlimits_forget_store(app.st);
		app.st->ops->close(app.st);
	}
	if (lock_fd >= 0)
		close(lock_fd);
	zg_crypto_shutdown();
	if (rc == ZG_EXIT_OK)
		zg_log_info("stopped");
	return rc;
}
