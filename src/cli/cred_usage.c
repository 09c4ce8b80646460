#include "cli/cred_usage.h"

#define TABLE_HELP                                                           \
	"Output: a table with the header row\n"                              \
	"\"ID  NAME  TYPE  VERSION  STATUS  EXPIRES  OWNER\" and one row\n"   \
	"per credential, columns separated by two or more spaces, \"-\" for\n" \
	"no expiry; or the JSON with --json.\n"

#define VALUE_INPUT_HELP                                                     \
	"  --raw              keep the value's trailing newline; by default\n" \
	"                     one trailing \"\\n\" is removed. The value must\n" \
	"                     be non-empty UTF-8 without NUL bytes. The\n"     \
	"                     server's limit is 65536 bytes unless its\n"      \
	"                     max_value_bytes setting says otherwise.\n"

const struct zg_cli_usage zg_cred_put_usage = {"cred put",
	"cred put --type TYPE --name NAME [--file FILE] [OPTIONS]\n\n"
	"Stores a new credential. The value is read from FILE, else from\n"
	"stdin; it is never taken from an argument.\n\n"
	"Options:\n"
	"  --type TYPE        private_key, api_token, database_password or\n"
	"                     service_account (required)\n"
	"  --name NAME        the credential's name (required)\n"
	"  --file FILE        read the value from FILE instead of stdin\n"
	VALUE_INPUT_HELP
	"  --metadata JSON    a JSON object stored with the credential\n"
	"  --permission P     a permission; repeat for several\n"
	"  --expires-at TIME  expiry as RFC 3339, e.g. 2027-01-31T00:00:00Z\n\n"
	TABLE_HELP, true};

const struct zg_cli_usage zg_cred_get_usage = {"cred get",
	"cred get ID [--version N] [OPTIONS]\n\n"
	"Prints the value of credential ID.\n\n"
	"Options:\n"
	"  --version N        the version to read (default: the latest)\n\n"
	"Output: the value followed by one newline, or with --json the\n"
	"object {\"value\": ..., \"version\": N}.\n", true};

const struct zg_cli_usage zg_cred_show_usage = {"cred show",
	"cred show ID [OPTIONS]\n\n"
	"Prints the metadata of credential ID, never its value.\n\n"
	"Output: one \"FIELD  VALUE\" line for each of id, name, type, owner,\n"
	"version, status, created, updated, expires, revoked, permissions\n"
	"and metadata (the last two as compact JSON, \"-\" for null); or the\n"
	"JSON with --json.\n", true};

const struct zg_cli_usage zg_cred_list_usage = {"cred list",
	"cred list [--limit N] [--after ID] [--all] [OPTIONS]\n\n"
	"Lists credentials in id order.\n\n"
	"Options:\n"
	"  --limit N          credentials per page, 1 to 1000 (default 100)\n"
	"  --after ID         start after this credential id\n"
	"  --all              follow \"next\" and list every page\n\n"
	TABLE_HELP
	"With --json: {\"items\": [...], \"next\": ID or null}, where --all\n"
	"joins the items of every page.\n", true};

const struct zg_cli_usage zg_cred_rotate_usage = {"cred rotate",
	"cred rotate ID [--file FILE | --stdin] [OPTIONS]\n\n"
	"Creates a new version of credential ID. Without --file or --stdin\n"
	"the server generates the value (64 hex characters).\n\n"
	"Options:\n"
	"  --file FILE        read the new value from FILE\n"
	"  --stdin            read the new value from stdin\n"
	VALUE_INPUT_HELP "\n"
	TABLE_HELP, true};

const struct zg_cli_usage zg_cred_revoke_usage = {"cred revoke",
	"cred revoke ID [OPTIONS]\n\n"
	"Revokes credential ID and destroys its keys.\n\n"
	TABLE_HELP, true};

const struct zg_cli_usage zg_cred_lease_usage = {"cred lease",
	"cred lease ID --ttl SECONDS [OPTIONS]\n\n"
	"Creates a one-time lease on the current version of credential ID.\n\n"
	"Options:\n"
	"  --ttl SECONDS      lifetime of the lease, 1 to 86400 (required)\n\n"
	"Output: \"lease-token\", \"expires\", \"credential\" and \"version\"\n"
	"lines, each \"FIELD  VALUE\", or the JSON with --json. The lease\n"
	"token is a secret and is printed only on stdout.\n", true};

const struct zg_cli_usage zg_cred_redeem_usage = {"cred redeem",
	"cred redeem [--file FILE] [OPTIONS]\n\n"
	"Redeems a one-time lease and prints the value it grants. The lease\n"
	"token is read from FILE, else from stdin (one trailing newline is\n"
	"ignored); it is never taken from an argument.\n\n"
	"Options:\n"
	"  --file FILE        read the lease token from FILE\n\n"
	"Output: the value followed by one newline, or with --json the\n"
	"object {\"value\": ..., \"version\": N, \"credentialId\": ID}.\n", true};
