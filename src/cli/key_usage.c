#include "cli/key_usage.h"

#define KEY_OUTPUT_HELP                                                      \
	"Output: \"FIELD  VALUE\" lines for id, label, algorithm, backend,\n"  \
	"version, status, address (secp256k1 only), public-key, expires,\n"   \
	"raw-digest and created; or the server's JSON with --json.\n"

#define SIGNATURE_OUTPUT_HELP                                                \
	"Output: a \"signature  0x...\" line (65 bytes: r, s and v = 27 or\n"  \
	"28), or the JSON {\"signature\": ...} with --json.\n"

#define JSON_INPUT_HELP                                                      \
	"  --file FILE        read the JSON from FILE instead of stdin\n"

const struct zg_cli_usage zg_key_create_usage = {"key create",
	"key create --algorithm ALG [OPTIONS]\n\n"
	"Generates a signing key inside its backend. The private key never\n"
	"leaves the backend.\n\n"
	"Options:\n"
	"  --algorithm ALG    secp256k1, ed25519 or p256 (required)\n"
	"  --backend NAME     software or pkcs11 (default: software)\n"
	"  --label TEXT       a label of up to 128 bytes\n"
	"  --expires-at TIME  after TIME, RFC 3339 such as\n"
	"                     2027-01-31T00:00:00Z, the key signs nothing\n"
	"  --allow-raw-digest allow 'zguard key sign-digest'. A raw digest\n"
	"                     bypasses every transaction check, so this is\n"
	"                     off by default.\n\n"
	KEY_OUTPUT_HELP, true};

const struct zg_cli_usage zg_key_import_usage = {"key import",
	"key import --algorithm ALG [--key-file FILE] [OPTIONS]\n\n"
	"Imports an existing private key into the software backend. The key\n"
	"is 64 hex digits, with or without 0x (secp256k1 and p256: the\n"
	"scalar; ed25519: the 32-byte seed). It is read from FILE, else from\n"
	"stdin (one line, not echoed on a terminal); it is never taken from\n"
	"an argument.\n\n"
	"Options:\n"
	"  --algorithm ALG    secp256k1, ed25519 or p256 (required)\n"
	"  --key-file FILE    read the private key from FILE\n"
	"  --label TEXT       a label of up to 128 bytes\n"
	"  --expires-at TIME  expiry as RFC 3339\n"
	"  --allow-raw-digest allow 'zguard key sign-digest'\n\n"
	KEY_OUTPUT_HELP, true};

const struct zg_cli_usage zg_key_list_usage = {"key list",
	"key list [--limit N] [--after ID] [--all] [OPTIONS]\n\n"
	"Lists signing keys in id order: your own, or every key if you may\n"
	"read them all.\n\n"
	"Options:\n"
	"  --limit N          keys per page, 1 to 1000 (default 100)\n"
	"  --after ID         start after this key id\n"
	"  --all              follow \"next\" and list every page\n\n"
	"Output: a table with the header row\n"
	"\"ID  LABEL  ALGORITHM  BACKEND  VERSION  STATUS  ADDRESS\", \"-\" for\n"
	"no value; or with --json {\"items\": [...], \"next\": ID or null},\n"
	"where --all joins the items of every page.\n", true};

const struct zg_cli_usage zg_key_show_usage = {"key show",
	"key show ID [OPTIONS]\n\n"
	"Prints key ID and all its versions.\n\n"
	"Output: the \"FIELD  VALUE\" lines of 'zguard key create', a blank\n"
	"line, then a table \"VERSION  STATE  CREATED  PUBLIC-KEY\" with one\n"
	"row per version; or the server's JSON with --json.\n", true};

const struct zg_cli_usage zg_key_rotate_usage = {"key rotate",
	"key rotate ID [OPTIONS]\n\n"
	"Adds a version with a new key pair from the same backend. Signing\n"
	"uses the new version from now on; older versions stay for\n"
	"verification until they are destroyed.\n\n"
	KEY_OUTPUT_HELP, true};

const struct zg_cli_usage zg_key_disable_usage = {"key disable",
	"key disable ID [OPTIONS]\n\n"
	"Switches signing off for every version of key ID.\n\n"
	KEY_OUTPUT_HELP, true};

const struct zg_cli_usage zg_key_enable_usage = {"key enable",
	"key enable ID [OPTIONS]\n\n"
	"Switches signing back on for key ID.\n\n"
	KEY_OUTPUT_HELP, true};

const struct zg_cli_usage zg_key_disable_version_usage = {
	"key disable-version",
	"key disable-version ID N [OPTIONS]\n\n"
	"Disables version N of key ID.\n\n"
	KEY_OUTPUT_HELP, true};

const struct zg_cli_usage zg_key_enable_version_usage = {
	"key enable-version",
	"key enable-version ID N [OPTIONS]\n\n"
	"Enables version N of key ID again. A destroyed version stays\n"
	"destroyed.\n\n"
	KEY_OUTPUT_HELP, true};

const struct zg_cli_usage zg_key_destroy_version_usage = {
	"key destroy-version",
	"key destroy-version ID N [OPTIONS]\n\n"
	"Erases the private key of version N of key ID for good: a software\n"
	"key's sealed blob is deleted, a token key object is destroyed. The\n"
	"public key stays listed.\n\n"
	KEY_OUTPUT_HELP, true};

const struct zg_cli_usage zg_key_sign_tx_usage = {"key sign-tx",
	"key sign-tx ID [--file FILE] [OPTIONS]\n\n"
	"Signs an Ethereum transaction with the newest version of key ID.\n"
	"The request is a JSON object read from FILE, else from stdin, with\n"
	"\"chainId\", \"type\" (0, 1 or 2), \"nonce\", \"to\" (absent or null\n"
	"creates a contract), \"value\", \"data\", \"gas\", and \"gasPrice\" or,\n"
	"for type 2, \"maxFeePerGas\" and \"maxPriorityFeePerGas\";\n"
	"\"accessList\" for types 1 and 2. Integers are decimal or 0x-hex\n"
	"strings.\n\n"
	"Options:\n"
	JSON_INPUT_HELP "\n"
	"Output: \"raw-transaction\", \"hash\" and \"from\" lines, and a\n"
	"\"request-id\" line when spending limits were reserved (for\n"
	"'zguard txreq release'). A transaction that needs approvals prints\n"
	"\"request-id\", \"status\", \"required\" and \"approvals\" instead.\n"
	"--json prints the server's JSON.\n", true};

const struct zg_cli_usage zg_key_simulate_tx_usage = {"key simulate-tx",
	"key simulate-tx ID [--file FILE] [OPTIONS]\n\n"
	"Runs the transaction in FILE (or stdin), the same request as\n"
	"'zguard key sign-tx', against the JSON-RPC node that the server's\n"
	"[rpc] section names for its chain, from key ID's address, and\n"
	"signs nothing.\n\n"
	"Options:\n"
	JSON_INPUT_HELP "\n"
	"Output: \"success\", \"gas-estimate\", \"revert-reason\" and\n"
	"\"balance-sufficient\" lines, or the JSON with --json. A node that\n"
	"cannot be reached exits 1 with the server's 502.\n", true};

const struct zg_cli_usage zg_key_sign_message_usage = {"key sign-message",
	"key sign-message ID [--file FILE] [--hex] [--raw] [OPTIONS]\n\n"
	"Signs an EIP-191 personal message with key ID. The message is read\n"
	"from FILE, else from stdin.\n\n"
	"Options:\n"
	"  --file FILE        read the message from FILE instead of stdin\n"
	"  --hex              the message is bytes written as 0x-hex, such as\n"
	"                     0x48656c6c6f; \"0x\" alone signs the empty\n"
	"                     message. Without --hex it is UTF-8 text.\n"
	"  --raw              keep the message's trailing newline; by default\n"
	"                     one trailing \"\\n\" is removed\n\n"
	SIGNATURE_OUTPUT_HELP, true};

const struct zg_cli_usage zg_key_sign_typed_data_usage = {
	"key sign-typed-data",
	"key sign-typed-data ID [--file FILE] [OPTIONS]\n\n"
	"Signs EIP-712 typed data with key ID. The input is the typed data\n"
	"object, with \"types\", \"primaryType\", \"domain\" and \"message\",\n"
	"read from FILE, else from stdin.\n\n"
	"Options:\n"
	JSON_INPUT_HELP "\n"
	SIGNATURE_OUTPUT_HELP, true};

const struct zg_cli_usage zg_key_sign_digest_usage = {"key sign-digest",
	"key sign-digest ID DIGEST [OPTIONS]\n\n"
	"Signs a raw 32-byte DIGEST, written as 0x and 64 hex digits. Only\n"
	"keys created with --allow-raw-digest sign digests.\n\n"
	"Output: a \"signature  0x...\" line (secp256k1: 65 bytes with v = 27\n"
	"or 28; p256: r and s, 64 bytes), or the JSON with --json.\n", true};

#define OFFLINE_EXIT_HELP                                                    \
	"Exit codes:\n"                                                      \
	"  0  success\n"                                                     \
	"  1  wrong passphrase, damaged or foreign bundle, a key id that\n"  \
	"     already exists, or the data directory is locked by a daemon\n" \
	"  2  usage error\n"                                                 \
	"  3  a file, the database or the vault cannot be read or written\n"

#define VAULT_PASSPHRASE_HELP                                                \
	"  --vault-passphrase-file FILE\n"                                   \
	"                     the vault uses the passphrase seal: unseal it\n" \
	"                     with the first line of FILE. Without it the\n"   \
	"                     vault must use the key-file seal.\n"

const struct zg_cli_usage zg_key_backup_usage = {"key backup",
	"key backup --data DIR --out FILE [OPTIONS]\n\n"
	"Writes the software keys of the data directory DIR to FILE, a\n"
	"bundle encrypted under a passphrase with Argon2id and AES-256-GCM.\n"
	"The daemon may keep running: DIR is read read-only. PKCS#11 keys\n"
	"cannot leave their token; they are listed in the bundle without\n"
	"key material and counted as not exportable.\n\n"
	"The bundle passphrase is the first line of stdin, not echoed on a\n"
	"terminal, or of --passphrase-file; it needs 12 characters or more.\n\n"
	"Options:\n"
	"  --data DIR         the data directory (required)\n"
	"  --out FILE         the bundle to create, mode 0600; it must not\n"
	"                     exist (required)\n"
	"  --owner USER       export only the keys of USER (default: all)\n"
	"  --passphrase-file FILE\n"
	"                     read the bundle passphrase from FILE\n"
	VAULT_PASSPHRASE_HELP
	"  -h, --help         print this help\n\n"
	"Output: one line with the counts of exported and of not exportable\n"
	"keys.\n\n"
	OFFLINE_EXIT_HELP, false};

const struct zg_cli_usage zg_key_restore_usage = {"key restore",
	"key restore --data DIR --in FILE [OPTIONS]\n\n"
	"Restores the software keys of a bundle made by 'zguard key backup'\n"
	"into the data directory DIR, sealed under DIR's own vault, in one\n"
	"transaction: if any key id already exists, nothing is written. Keys\n"
	"marked not exportable are skipped. No daemon may run on DIR: the\n"
	"command takes DIR's lock. A DIR without a vault gets a new one with\n"
	"the key-file seal, as 'zguard serve' would create it.\n\n"
	"The bundle passphrase is the first line of stdin, not echoed on a\n"
	"terminal, or of --passphrase-file.\n\n"
	"Options:\n"
	"  --data DIR         the data directory (required)\n"
	"  --in FILE          the bundle to read (required)\n"
	"  --passphrase-file FILE\n"
	"                     read the bundle passphrase from FILE\n"
	VAULT_PASSPHRASE_HELP
	"  -h, --help         print this help\n\n"
	"Output: one line with the counts of restored and of skipped keys.\n\n"
	OFFLINE_EXIT_HELP, false};
