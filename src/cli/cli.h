/*
 * The zguard command line. One table maps each top-level command (serve,
 * init, unseal, sys, cred, token, audit) to its function; each group lives
 * in its own file.
 *
 * zg_cli_main and the zg_cmd_ functions return an exit code and never call
 * exit(), so tests can run them in process. Each zg_cmd_ function receives
 * argv with argv[0] set to its own command name.
 *
 * Exit codes, documented in `zguard --help`:
 *   0  success
 *   1  the server rejected the request, or a verification failed
 *   2  usage error: unknown command, bad flag, missing argument
 *   3  cannot reach the server, or a local file or I/O error
 */
#ifndef ZG_CLI_CLI_H
#define ZG_CLI_CLI_H

enum {
	ZG_EXIT_OK = 0,
	ZG_EXIT_FAILED = 1,
	ZG_EXIT_USAGE = 2,
	ZG_EXIT_IO = 3,
};

int zg_cli_main(int argc, char **argv);

/* `zguard serve [--config FILE] [--data DIR] [--listen HOST:PORT]` */
int zg_cmd_serve(int argc, char **argv);

/* `zguard init --data DIR --seal passphrase` (passphrase from stdin) */
int zg_cmd_init(int argc, char **argv);

/* `zguard unseal [--file FILE]`, in sys_cmd.c */
int zg_cmd_unseal(int argc, char **argv);

/* `zguard sys seal-status|rotate-root|rotate-kek`, in sys_cmd.c */
int zg_cmd_sys(int argc, char **argv);

/* `zguard cred put|get|show|list|rotate|revoke|lease|redeem`, in cred_cmd.c */
int zg_cmd_cred(int argc, char **argv);

/* `zguard token create|revoke`, in token_cmd.c */
int zg_cmd_token(int argc, char **argv);

/*
 * `zguard audit verify|export|tree-head|events|record|erase|public-key`,
 * in audit_cmd.c
 */
int zg_cmd_audit(int argc, char **argv);

/* `zguard key ...`, in key_cmd.c */
int zg_cmd_key(int argc, char **argv);

/* `zguard role|grant|sa|authz ...`, in role_cmd.c */
int zg_cmd_role(int argc, char **argv);
int zg_cmd_grant(int argc, char **argv);
int zg_cmd_sa(int argc, char **argv);
int zg_cmd_authz(int argc, char **argv);

/* `zguard policy|stop|limits|txreq ...`, in policy_cmd.c and txreq_cmd.c */
int zg_cmd_policy(int argc, char **argv);
int zg_cmd_stop(int argc, char **argv);
int zg_cmd_limits(int argc, char **argv);
int zg_cmd_txreq(int argc, char **argv);

#endif
