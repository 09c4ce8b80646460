/*
 * Helpers shared by the zguard commands: option parsing with the global
 * flags, help text, subcommand dispatch, reading secrets from files or
 * stdin, and aligned tables on stdout.
 *
 * Like client.h, functions that can fail print their own error line to
 * stderr and return an exit code from cli.h.
 */
#ifndef ZG_CLI_CMDUTIL_H
#define ZG_CLI_CMDUTIL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "cli/client.h"

/* getopt_long values of the global flags, above every character value. */
enum {
	ZG_OPT_ADDR = 0x100,
	ZG_OPT_TOKEN_FILE,
	ZG_OPT_CACERT,
	ZG_OPT_JSON,
	ZG_OPT_FIRST_LOCAL, /* the first value a command may use */
};

/* The long options of every client command, to put in its option table. */
#define ZG_CLI_GLOBAL_OPTIONS                                                \
	{"addr", required_argument, NULL, ZG_OPT_ADDR},                      \
	{"token-file", required_argument, NULL, ZG_OPT_TOKEN_FILE},          \
	{"cacert", required_argument, NULL, ZG_OPT_CACERT},                  \
	{"json", no_argument, NULL, ZG_OPT_JSON},                            \
	{"help", no_argument, NULL, 'h'}

/* The getopt_long short-option string of every command. */
#define ZG_CLI_SHORT_OPTIONS ":h"

/* The return value of zg_cli_common_option after a global flag. */
#define ZG_CLI_CONTINUE (-1)

/* One command's help: its name ("cred put") and the text after "usage: ". */
struct zg_cli_usage {
	const char *name;
	const char *text;
	bool client; /* list the global flags in the help */
};

/* A subcommand table entry. */
struct zg_cli_subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* Prepares getopt_long for a fresh scan; call before each parsing loop. */
void zg_cli_getopt_reset(void);

/*
 * Handles an option that getopt_long returned and that the command's own
 * switch did not: a global flag is stored in g and gives ZG_CLI_CONTINUE;
 * --help prints the help and gives ZG_EXIT_OK; an unknown option or a
 * missing argument prints an error and gives ZG_EXIT_USAGE.
 */
int zg_cli_common_option(int opt, char **argv, struct zg_cli_globals *g,
    const struct zg_cli_usage *u);

/* Prints the help of u to stdout, with the global flags and exit codes. */
void zg_cli_print_help(const struct zg_cli_usage *u);

/* Prints "zguard: <message>; run 'zguard <name> --help'" and returns 2. */
int zg_cli_usage_error(const struct zg_cli_usage *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Runs the subcommand argv[1] of group from table (ended by a NULL name),
 * passing it argv + 1. Handles --help, "help" and unknown names.
 */
int zg_cli_dispatch(const char *group, const char *summary,
    const struct zg_cli_subcommand *table, int argc, char **argv);

/*
 * Checks that exactly want positional arguments remain after option
 * parsing; prints a usage error and returns ZG_EXIT_USAGE otherwise.
 */
int zg_cli_expect_args(const struct zg_cli_usage *u, int argc, char **argv,
    int want, const char *what);

/*
 * Parses a decimal integer option value in [min, max] into *out. Prints a
 * usage error naming flag and returns ZG_EXIT_USAGE if it is not one.
 */
int zg_cli_parse_int(const struct zg_cli_usage *u, const char *flag,
    const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * Checks that id is a non-empty run of letters, digits, '_' and '-', so
 * that it can go into a URL path unescaped.
 */
int zg_cli_check_id(const struct zg_cli_usage *u, const char *id);

/*
 * Reads a secret from path, or from stdin when path is NULL, into out
 * (wiped when freed). At most max bytes are accepted. Unless raw, one
 * trailing "\n" is stripped. An empty result, a NUL byte or invalid UTF-8
 * gives ZG_EXIT_USAGE; a read failure gives ZG_EXIT_IO. what names the
 * secret in messages ("value", "lease token").
 */
/* Largest JSON document the client reads from a file or stdin. */
#define ZG_CLI_JSON_INPUT_MAX (4 * 1024 * 1024)

/*
 * Reads a JSON value of type want (JSON_OBJECT or JSON_ARRAY) from path,
 * or from stdin when path is NULL, refusing duplicate keys. what names the
 * document in messages. ZG_EXIT_USAGE, with a message on stderr, for text
 * that is not JSON or not of type want.
 */
int zg_cli_read_json(const char *path, const char *what, json_type want,
    json_t **out);

int zg_cli_read_secret(const char *path, bool raw, size_t max,
    const char *what, zg_buf *out);

/* Prints obj as indented JSON followed by a newline to stdout. */
void zg_cli_print_json(const json_t *obj);

/*
 * Prints a table to stdout: the header row, then nrow rows of ncol cells
 * (cells contains them row by row), columns left-aligned and separated by at
 * least two spaces, with no trailing spaces.
 */
void zg_cli_print_table(const char *const *header, size_t ncol,
    char *const *cells, size_t nrow);

/*
 * Prints "FIELD  VALUE" lines to stdout for a NULL-terminated list of
 * field/value pairs, with the values aligned.
 */
void zg_cli_print_fields(const char *const *pairs);

/*
 * Returns a printable form of a JSON value for a table cell, newly
 * allocated (NULL when out of memory): strings as they are with control
 * bytes as '?', null or absent as "-", other values as compact JSON.
 */
char *zg_cli_cell_new(const json_t *v);

/*
 * Prints "LABEL  VALUE" lines to stdout, like zg_cli_print_fields, for a
 * NULL-terminated list of label/key pairs: each value is member key of obj,
 * rendered by zg_cli_cell_new. Returns ZG_EXIT_IO when out of memory.
 */
int zg_cli_print_members(const json_t *obj, const char *const *pairs);

#endif
