/* The help texts of the `zguard cred` subcommands, in cred_usage.c. */
#ifndef ZG_CLI_CRED_USAGE_H
#define ZG_CLI_CRED_USAGE_H

#include "cli/cmdutil.h"

extern const struct zg_cli_usage zg_cred_put_usage;
extern const struct zg_cli_usage zg_cred_get_usage;
extern const struct zg_cli_usage zg_cred_show_usage;
extern const struct zg_cli_usage zg_cred_list_usage;
extern const struct zg_cli_usage zg_cred_rotate_usage;
extern const struct zg_cli_usage zg_cred_revoke_usage;
extern const struct zg_cli_usage zg_cred_lease_usage;
extern const struct zg_cli_usage zg_cred_redeem_usage;

#endif
