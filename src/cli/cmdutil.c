#include "cli/cmdutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char global_help[] =
    "Global options:\n"
    "  --addr URL         server address, http:// or https://\n"
    "                     (default: $ZGUARD_ADDR, else "
    ZG_CLIENT_DEFAULT_ADDR ")\n"
    "  --token-file FILE  file that contains the API token; one trailing\n"
    "                     newline is ignored (default: $ZGUARD_TOKEN).\n"
    "                     Tokens are never accepted as arguments.\n"
    "  --cacert FILE      PEM file of CA certificates that verify an\n"
    "                     https:// server\n"
    "  --json             print the server's JSON response, indented,\n"
    "                     instead of a table\n";

static const char exit_help[] =
    "Exit codes:\n"
    "  0  success\n"
    "  1  the server rejected the request\n"
    "  2  usage error: unknown command, bad flag, missing argument\n"
    "  3  cannot reach the server, or a local file or I/O error\n";

void
zg_cli_getopt_reset(void)
{
	/* Zero makes glibc's getopt start over, so commands can run twice. */
	optind = 0;
	opterr = 0;
}

void
zg_cli_print_help(const struct zg_cli_usage *u)
{
	printf("usage: zguard %s", u->text);
	if (u->client)
		printf("\n%s", global_help);
	printf("  -h, --help         print this help\n\n%s", exit_help);
}

int
zg_cli_usage_error(const struct zg_cli_usage *u, const char *fmt, ...)
{
	va_list ap;
	fputs("zguard: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; run 'zguard %s --help'\n", u->name);
	return ZG_EXIT_USAGE;
}

int
zg_cli_common_option(int opt, char **argv, struct zg_cli_globals *g,
    const struct zg_cli_usage *u)
{
	switch (opt) {
	case ZG_OPT_ADDR:
		g->addr = optarg;
		return ZG_CLI_CONTINUE;
	case ZG_OPT_TOKEN_FILE:
		g->token_file = optarg;
		return ZG_CLI_CONTINUE;
	case ZG_OPT_CACERT:
		g->cacert = optarg;
		return ZG_CLI_CONTINUE;
	case ZG_OPT_JSON:
		g->json = true;
		return ZG_CLI_CONTINUE;
	case 'h':
		zg_cli_print_help(u);
		return ZG_EXIT_OK;
	case ':':
		return zg_cli_usage_error(u, "option '%s' requires a value",
		    argv[optind - 1]);
	default:
		if (optopt != 0)
			return zg_cli_usage_error(u, "unknown option '-%c'",
			    optopt);
		return zg_cli_usage_error(u, "unknown option '%s'",
		    argv[optind - 1]);
	}
}

static void
print_group_help(const char *group, const char *summary,
    const struct zg_cli_subcommand *table)
{
	size_t width = 0;
	for (const struct zg_cli_subcommand *s = table; s->name != NULL; s++)
		if (strlen(s->name) > width)
			width = strlen(s->name);
	printf("usage: zguard %s SUBCOMMAND [OPTIONS]\n\n%s\n\n"
	    "Subcommands:\n", group, summary);
	for (const struct zg_cli_subcommand *s = table; s->name != NULL; s++)
		printf("  %-*s  %s\n", (int)width, s->name, s->summary);
	printf("\nRun 'zguard %s SUBCOMMAND --help' for its options.\n\n%s",
	    group, exit_help);
}

int
zg_cli_dispatch(const char *group, const char *summary,
    const struct zg_cli_subcommand *table, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "zguard: missing %s subcommand; run 'zguard %s "
		    "--help'\n", group, group);
		return ZG_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
	    strcmp(name, "help") == 0) {
		print_group_help(group, summary, table);
		return ZG_EXIT_OK;
	}
	for (const struct zg_cli_subcommand *s = table; s->name != NULL; s++)
		if (strcmp(s->name, name) == 0)
			return s->run(argc - 1, argv + 1);
	fprintf(stderr, "zguard: unknown %s subcommand '%s'; run 'zguard %s "
	    "--help'\n", group, name, group);
	return ZG_EXIT_USAGE;
}

int
zg_cli_expect_args(const struct zg_cli_usage *u, int argc, char **argv,
    int want, const char *what)
{
	int have = argc - optind;
	if (have < want)
		return zg_cli_usage_error(u, "missing %s", what);
	if (have > want)
		return zg_cli_usage_error(u, "unexpected argument '%s'",
		    argv[optind + want]);
	return ZG_EXIT_OK;
}

int
zg_cli_parse_int(const struct zg_cli_usage *u, const char *flag,
    const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return zg_cli_usage_error(u, "invalid value '%s' for %s: "
		    "expected an integer from %lld to %lld", s, flag,
		    (long long)min, (long long)max);
	*out = v;
	return ZG_EXIT_OK;
}

int
zg_cli_check_id(const struct zg_cli_usage *u, const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 200 || strspn(id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
		return zg_cli_usage_error(u, "invalid id '%.64s': expected "
		    "letters, digits, '_' and '-'", id);
	return ZG_EXIT_OK;
}

int
zg_cli_read_secret(const char *path, bool raw, size_t max, const char *what,
    zg_buf *out)
{
	int rc = ZG_EXIT_IO;
	char chunk[4096];
	const char *source = path != NULL ? path : "stdin";
	int fd = 0;

	if (path != NULL && (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "zguard: cannot open %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "zguard: cannot read %s: %s\n", source,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if ((size_t)n > max - out->len) {
			fprintf(stderr, "zguard: the %s in %s is larger than "
			    "%zu bytes\n", what, source, max);
			rc = ZG_EXIT_USAGE;
			goto out;
		}
		if (zg_buf_append(out, chunk, (size_t)n) != ZG_OK) {
			fprintf(stderr, "zguard: out of memory\n");
			goto out;
		}
	}
	if (!raw && out->len > 0 && out->data[out->len - 1] == '\n')
		out->data[--out->len] = 0;

	rc = ZG_EXIT_USAGE;
	if (out->len == 0) {
		fprintf(stderr, "zguard: the %s read from %s is empty\n", what,
		    source);
		goto out;
	}
	if (memchr(out->data, 0, out->len) != NULL) {
		fprintf(stderr, "zguard: the %s read from %s contains a NUL "
		    "byte; encode binary data (for example as base64) first\n",
		    what, source);
		goto out;
	}
	/* jansson refuses to build a string from invalid UTF-8. */
	json_t *probe = json_stringn((const char *)out->data, out->len);
	if (probe == NULL) {
		fprintf(stderr, "zguard: the %s read from %s is not valid "
		    "UTF-8; encode binary data (for example as base64) first\n",
		    what, source);
		goto out;
	}
	json_decref(probe);
	if (zg_buf_append_u8(out, 0) != ZG_OK) {
		fprintf(stderr, "zguard: out of memory\n");
		rc = ZG_EXIT_IO;
		goto out;
	}
	out->len--;
	/* success */
	rc = ZG_EXIT_OK;
out:
	zg_wipe(chunk, sizeof(chunk));
	if (path != NULL && fd != -1)
		close(fd);
	if (rc != ZG_EXIT_OK)
		zg_buf_free(out);
	return rc;
}

void
zg_cli_print_json(const json_t *obj)
{
	json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

void
zg_cli_print_table(const char *const *header, size_t ncol,
    char *const *cells, size_t nrow)
{
	size_t width[16] = {0};
	if (ncol > sizeof(width) / sizeof(width[0]))
		ncol = sizeof(width) / sizeof(width[0]);
	for (size_t j = 0; j < ncol; j++) {
		width[j] = strlen(header[j]);
		for (size_t i = 0; i < nrow; i++) {
			size_t n = strlen(cells[i * ncol + j]);
			if (n > width[j])
				width[j] = n;
		}
	}
	for (size_t i = 0; i <= nrow; i++) {
		for (size_t j = 0; j < ncol; j++) {
			const char *s = i == 0 ? header[j] :
			    cells[(i - 1) * ncol + j];
			if (j + 1 == ncol)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)width[j], s);
		}
	}
}

void
zg_cli_print_fields(const char *const *pairs)
{
	size_t width = 0;
	for (const char *const *p = pairs; p[0] != NULL; p += 2)
		if (strlen(p[0]) > width)
			width = strlen(p[0]);
	for (const char *const *p = pairs; p[0] != NULL; p += 2)
		printf("%-*s  %s\n", (int)width, p[0],
		    p[1] != NULL ? p[1] : "-");
}

static int
append_json(const char *data, size_t n, void *arg)
{
	return zg_buf_append(arg, data, n) == ZG_OK ? 0 : -1;
}

char *
zg_cli_cell_new(const json_t *v)
{
	zg_buf b = ZG_BUF_INIT;
	if (v == NULL || json_is_null(v)) {
		if (zg_buf_append_str(&b, "-") != ZG_OK)
			goto fail;
	} else if (json_is_string(v)) {
		if (zg_buf_append(&b, json_string_value(v),
		    json_string_length(v)) != ZG_OK)
			goto fail;
	} else if (json_dump_callback(v, append_json, &b,
	    JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) != 0)
		goto fail;
	if (zg_buf_append_u8(&b, 0) != ZG_OK)
		goto fail;
	/* Keep terminal escapes and line breaks out of the table. */
	for (size_t i = 0; i + 1 < b.len; i++)
		if (b.data[i] < 0x20 || b.data[i] == 0x7f)
			b.data[i] = '?';
	return (char *)b.data;
fail:
	zg_buf_free(&b);
	return NULL;
}

int
zg_cli_print_members(const json_t *obj, const char *const *pairs)
{
	int rc = ZG_EXIT_IO;
	size_t n = 0;
	while (pairs[2 * n] != NULL)
		n++;
	const char **fields = calloc(2 * n + 1, sizeof(*fields));
	if (fields == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		fields[2 * i] = pairs[2 * i];
		char *cell = zg_cli_cell_new(json_object_get(obj,
		    pairs[2 * i + 1]));
		if (cell == NULL)
			goto out;
		fields[2 * i + 1] = cell;
	}
	zg_cli_print_fields(fields);
	/* success */
	rc = ZG_EXIT_OK;
out:
	if (rc != ZG_EXIT_OK)
		fprintf(stderr, "zguard: out of memory\n");
	for (size_t i = 0; fields != NULL && i < n; i++)
		zg_free_str_wiped((char *)fields[2 * i + 1]);
	free(fields);
	return rc;
}

int
zg_cli_read_json(const char *path, const char *what, json_type want,
    json_t **out)
{
	zg_buf text = ZG_BUF_INIT;
	json_error_t jerr;
	int rc;

	*out = NULL;
	if ((rc = zg_cli_read_secret(path, true, ZG_CLI_JSON_INPUT_MAX, what,
	    &text)) != ZG_EXIT_OK)
		return rc;
	json_t *v = json_loadb((const char *)text.data, text.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	zg_buf_free(&text);
	if (v == NULL) {
		fprintf(stderr, "zguard: the %s from %s is not valid JSON: %s "
		    "(line %d, column %d)\n", what, path ? path : "stdin",
		    jerr.text, jerr.line, jerr.column);
		return ZG_EXIT_USAGE;
	}
	if (json_typeof(v) != want) {
		fprintf(stderr, "zguard: the %s from %s must be a JSON %s\n",
		    what, path ? path : "stdin",
		    want == JSON_ARRAY ? "array" : "object");
		json_decref(v);
		return ZG_EXIT_USAGE;
	}
	*out = v;
	return ZG_EXIT_OK;
}
