/* The help texts of the `zguard key` subcommands, in key_usage.c. */
#ifndef ZG_CLI_KEY_USAGE_H
#define ZG_CLI_KEY_USAGE_H

#include "cli/cmdutil.h"

extern const struct zg_cli_usage zg_key_create_usage;
extern const struct zg_cli_usage zg_key_import_usage;
extern const struct zg_cli_usage zg_key_list_usage;
extern const struct zg_cli_usage zg_key_show_usage;
extern const struct zg_cli_usage zg_key_rotate_usage;
extern const struct zg_cli_usage zg_key_disable_usage;
extern const struct zg_cli_usage zg_key_enable_usage;
extern const struct zg_cli_usage zg_key_disable_version_usage;
extern const struct zg_cli_usage zg_key_enable_version_usage;
extern const struct zg_cli_usage zg_key_destroy_version_usage;
extern const struct zg_cli_usage zg_key_sign_tx_usage;
extern const struct zg_cli_usage zg_key_simulate_tx_usage;
extern const struct zg_cli_usage zg_key_sign_message_usage;
extern const struct zg_cli_usage zg_key_sign_typed_data_usage;
extern const struct zg_cli_usage zg_key_sign_digest_usage;
extern const struct zg_cli_usage zg_key_backup_usage;
extern const struct zg_cli_usage zg_key_restore_usage;

#endif
