/*
 * Private to cli/audit_cmd.c, cli/audit_export_cmd.c and
 * cli/audit_http_cmd.c.
 */
#ifndef ZG_CLI_AUDIT_CMD_INTERNAL_H
#define ZG_CLI_AUDIT_CMD_INTERNAL_H

#include "cli/cmdutil.h"
#include "store/store.h"

/*
 * Meta values of the vault that tell which seal protects the root key
 * (vault/seal.c): "seal" is {format 1, kind}, "root_key" the sealed key.
 */
#define VAULT_META_SEAL "seal"
#define VAULT_META_ROOT "root_key"

enum {
	OPT_DATA = ZG_OPT_FIRST_LOCAL,
	OPT_PUBLIC_KEY,
	OPT_QUIET,
	OPT_EVENTS,
	OPT_TREE_HEAD,
	OPT_OUT,
	OPT_FROM,
	OPT_LIMIT,
	OPT_USER,
	OPT_RESOURCE,
	OPT_TYPE,
	OPT_ACTION,
	OPT_FAILED,
	OPT_SESSION,
	OPT_METADATA,
};

/* Opens DIR/zguard.db read-only; prints why not on failure. */
int zg_cli_audit_open_store(const char *dir, zg_store **st);

/* Runs `zguard audit export` and returns its exit code. */
int zg_cli_audit_export(int argc, char **argv);

/*
 * The client commands of audit_http_cmd.c, which call the daemon's audit
 * routes: `zguard audit tree-head|events|record|erase|public-key`. Each
 * returns its exit code.
 */
int zg_cli_audit_tree_head(int argc, char **argv);
int zg_cli_audit_events(int argc, char **argv);
int zg_cli_audit_record(int argc, char **argv);
int zg_cli_audit_erase(int argc, char **argv);
int zg_cli_audit_public_key(int argc, char **argv);

#endif
