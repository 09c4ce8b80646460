/*
 * Tests of the command line that need no server: argument errors, help,
 * address and token resolution, and a refused connection.
 *
 * Each case runs zg_cli_main in process with stdout and stderr redirected
 * to temporary files, so the output can be checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "cli/client.h"

#include "base/buf.h"

#define OUT_MAX 65536

static char out_text[OUT_MAX];
static char err_text[OUT_MAX];

static void
read_capture(FILE *f, char *text)
{
	rewind(f);
	size_t n = fread(text, 1, OUT_MAX - 1, f);
	text[n] = '\0';
	fclose(f);
}

/*
 * Runs zg_cli_main on a NULL-terminated argument list (argv[0] is added)
 * with stdin from /dev/null, and returns its exit code. The output lands
 * in out_text and err_text.
 */
static int
run(const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = strdup("zguard");
	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(argc < 31);
		argv[argc++] = strdup(a);
	}
	va_end(ap);
	argv[argc] = NULL;

	FILE *out = tmpfile(), *err = tmpfile(), *in = fopen("/dev/null", "r");
	assert_non_null(out);
	assert_non_null(err);
	assert_non_null(in);
	fflush(stdout);
	fflush(stderr);
	int saved_in = dup(0), saved_out = dup(1), saved_err = dup(2);
	dup2(fileno(in), 0);
	dup2(fileno(out), 1);
	dup2(fileno(err), 2);

	int rc = zg_cli_main(argc, argv);

	fflush(stdout);
	fflush(stderr);
	dup2(saved_in, 0);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_in);
	close(saved_out);
	close(saved_err);
	fclose(in);
	read_capture(out, out_text);
	read_capture(err, err_text);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

/* Returns a TCP port on 127.0.0.1 that nothing listens on right now. */
static int
closed_port(void)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Writes text to a new temporary file and stores its path in path. */
static void
write_temp(char *path, size_t pathsz, const char *text)
{
	snprintf(path, pathsz, "/tmp/zguard-test-cli-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

static int
clear_env(void **state)
{
	unsetenv("ZGUARD_ADDR");
	unsetenv("ZGUARD_TOKEN");
	return 0;
}

static void
unknown_command(void **state)
{
	assert_int_equal(run("frobnicate", NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "unknown command 'frobnicate'"));
	assert_non_null(strstr(err_text, "run 'zguard --help'"));
	assert_string_equal(out_text, "");
}

static void
missing_command(void **state)
{
	assert_int_equal(run(NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "zguard --help"));
}

static void
unknown_top_flag(void **state)
{
	assert_int_equal(run("--frob", NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "'--frob'"));
}

static void
unknown_subcommand(void **state)
{
	assert_int_equal(run("cred", "steal", NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "'steal'"));
	assert_non_null(strstr(err_text, "zguard cred --help"));
}

static void
unknown_flag(void **state)
{
	assert_int_equal(run("cred", "list", "--bogus", NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "unknown option '--bogus'"));
	assert_non_null(strstr(err_text, "--help"));
}

static void
value_flag_rejected(void **state)
{
	assert_int_equal(run("cred", "put", "--type", "api_token", "--name",
	    "db", "--value", "hunter2", NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "unknown option '--value'"));
	assert_null(strstr(err_text, "hunter2"));
}

static void
put_missing_type(void **state)
{
	assert_int_equal(run("cred", "put", "--name", "db", NULL),
	    ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "missing --type"));
}

static void
put_empty_value(void **state)
{
	char path[64];
	write_temp(path, sizeof(path), "\n");
	assert_int_equal(run("cred", "put", "--type", "api_token", "--name",
	    "db", "--file", path, NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "is empty"));
	unlink(path);
}

static void
missing_option_value(void **state)
{
	assert_int_equal(run("cred", "get", "cred_1", "--version", NULL),
	    ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "'--version' requires a value"));
}

static void
bad_integer(void **state)
{
	assert_int_equal(run("cred", "lease", "cred_1", "--ttl", "10s", NULL),
	    ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "invalid value '10s' for --ttl"));
}

static void
lease_token_not_in_argv(void **state)
{
	assert_int_equal(run("cred", "redeem", "zgl_abc", NULL),
	    ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "unexpected argument"));
}

static void
invalid_id(void **state)
{
	assert_int_equal(run("cred", "show", "../sys/seal", NULL),
	    ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "invalid id"));
}

static void
rotate_file_and_stdin(void **state)
{
	assert_int_equal(run("cred", "rotate", "cred_1", "--stdin", "--file",
	    "x", NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "cannot be used together"));
}

static void
audit_without_subcommand(void **state)
{
	assert_int_equal(run("audit", NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "missing audit subcommand"));
}

static void
main_help(void **state)
{
	assert_int_equal(run("--help", NULL), ZG_EXIT_OK);
	assert_non_null(strstr(out_text, "cred"));
	assert_non_null(strstr(out_text, "Exit codes"));
	assert_string_equal(err_text, "");
	assert_int_equal(run("help", NULL), ZG_EXIT_OK);
	assert_non_null(strstr(out_text, "Exit codes"));
}

static void
version_flag(void **state)
{
	assert_int_equal(run("--version", NULL), ZG_EXIT_OK);
	assert_string_equal(out_text, "zguard 0.1.0\n");
}

static void
group_help(void **state)
{
	assert_int_equal(run("cred", "--help", NULL), ZG_EXIT_OK);
	assert_non_null(strstr(out_text, "redeem"));
	assert_int_equal(run("help", "token", NULL), ZG_EXIT_OK);
	assert_non_null(strstr(out_text, "create"));
}

static void
subcommand_help(void **state)
{
	static const char *const cases[][2] = {
		{"cred", "put"}, {"cred", "get"}, {"cred", "show"},
		{"cred", "list"}, {"cred", "rotate"}, {"cred", "revoke"},
		{"cred", "lease"}, {"cred", "redeem"}, {"token", "create"},
		{"token", "revoke"}, {"sys", "seal-status"},
		{"sys", "rotate-root"}, {"sys", "rotate-kek"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(run(cases[i][0], cases[i][1], "--help", NULL),
		    ZG_EXIT_OK);
		assert_non_null(strstr(out_text, "Output:"));
		assert_non_null(strstr(out_text, "--token-file FILE"));
		assert_non_null(strstr(out_text, "Exit codes"));
	}
	assert_int_equal(run("unseal", "--help", NULL), ZG_EXIT_OK);
	assert_non_null(strstr(out_text, "--file FILE"));
}

static void
addr_default(void **state)
{
	assert_string_equal(zg_client_pick_addr(NULL), "http://127.0.0.1:8420");
}

static void
addr_from_env(void **state)
{
	setenv("ZGUARD_ADDR", "http://127.0.0.1:9000", 1);
	assert_string_equal(zg_client_pick_addr(NULL), "http://127.0.0.1:9000");
}

static void
addr_flag_wins(void **state)
{
	setenv("ZGUARD_ADDR", "http://127.0.0.1:9000", 1);
	assert_string_equal(zg_client_pick_addr("http://[::1]:9001"),
	    "http://[::1]:9001");
}

static void
addr_invalid_scheme(void **state)
{
	assert_int_equal(run("sys", "seal-status", "--addr", "127.0.0.1:1",
	    NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "invalid address '127.0.0.1:1'"));
}

static void
token_file_newline(void **state)
{
	char path[64], *token = NULL;
	write_temp(path, sizeof(path), "zgt_abc\n");
	assert_int_equal(zg_client_read_token_file(path, &token), ZG_EXIT_OK);
	assert_string_equal(token, "zgt_abc");
	zg_free_str_wiped(token);
	unlink(path);
}

static void
token_file_crlf(void **state)
{
	char path[64], *token = NULL;
	write_temp(path, sizeof(path), "zgt_abc\r\n");
	assert_int_equal(zg_client_read_token_file(path, &token), ZG_EXIT_OK);
	assert_string_equal(token, "zgt_abc");
	zg_free_str_wiped(token);
	unlink(path);
}

static void
token_file_two_lines(void **state)
{
	char path[64], *token = NULL;
	write_temp(path, sizeof(path), "zgt_abc\nzgt_def\n");
	assert_int_equal(zg_client_read_token_file(path, &token), ZG_EXIT_IO);
	assert_null(token);
	unlink(path);
}

static void
token_file_missing(void **state)
{
	assert_int_equal(run("cred", "list", "--token-file",
	    "/nonexistent/zguard-token", NULL), ZG_EXIT_IO);
	assert_non_null(strstr(err_text,
	    "cannot open token file /nonexistent/zguard-token"));
}

static void
token_missing(void **state)
{
	assert_int_equal(run("cred", "list", NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "no token"));
}

static void
connection_refused(void **state)
{
	char addr[64];
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", closed_port());
	assert_int_equal(run("sys", "seal-status", "--addr", addr, NULL),
	    ZG_EXIT_IO);
	assert_non_null(strstr(err_text, addr));
	assert_string_equal(out_text, "");
}

static void
client_option_before_command(void **state)
{
	char addr[64];
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", closed_port());
	assert_int_equal(run("--addr", addr, "sys", "seal-status", NULL),
	    ZG_EXIT_IO);
	assert_non_null(strstr(err_text, addr));
}

static void
client_option_equals_before_command(void **state)
{
	char arg[80];
	snprintf(arg, sizeof(arg), "--addr=http://127.0.0.1:%d", closed_port());
	assert_int_equal(run(arg, "sys", "seal-status", NULL), ZG_EXIT_IO);
	assert_non_null(strstr(err_text, arg + strlen("--addr=")));
}

static void
client_option_without_value(void **state)
{
	assert_int_equal(run("--addr", NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "needs a value"));
}

static void
client_option_without_command(void **state)
{
	assert_int_equal(run("--json", NULL), ZG_EXIT_USAGE);
	assert_non_null(strstr(err_text, "missing command"));
}

static void
connection_refused_env(void **state)
{
	char addr[64];
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", closed_port());
	setenv("ZGUARD_ADDR", addr, 1);
	setenv("ZGUARD_TOKEN", "zgt_abc", 1);
	assert_int_equal(run("cred", "list", NULL), ZG_EXIT_IO);
	assert_non_null(strstr(err_text, addr));
}

static void
connection_refused_flag_wins(void **state)
{
	char addr[64];
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d", closed_port());
	setenv("ZGUARD_ADDR", "http://127.0.0.1:9", 1);
	assert_int_equal(run("sys", "seal-status", "--addr", addr, NULL),
	    ZG_EXIT_IO);
	assert_non_null(strstr(err_text, addr));
	assert_null(strstr(err_text, "127.0.0.1:9 "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(unknown_command, clear_env),
		cmocka_unit_test_setup(missing_command, clear_env),
		cmocka_unit_test_setup(unknown_top_flag, clear_env),
		cmocka_unit_test_setup(unknown_subcommand, clear_env),
		cmocka_unit_test_setup(unknown_flag, clear_env),
		cmocka_unit_test_setup(value_flag_rejected, clear_env),
		cmocka_unit_test_setup(put_missing_type, clear_env),
		cmocka_unit_test_setup(put_empty_value, clear_env),
		cmocka_unit_test_setup(missing_option_value, clear_env),
		cmocka_unit_test_setup(bad_integer, clear_env),
		cmocka_unit_test_setup(lease_token_not_in_argv, clear_env),
		cmocka_unit_test_setup(invalid_id, clear_env),
		cmocka_unit_test_setup(rotate_file_and_stdin, clear_env),
		cmocka_unit_test_setup(audit_without_subcommand, clear_env),
		cmocka_unit_test_setup(main_help, clear_env),
		cmocka_unit_test_setup(version_flag, clear_env),
		cmocka_unit_test_setup(group_help, clear_env),
		cmocka_unit_test_setup(subcommand_help, clear_env),
		cmocka_unit_test_setup(addr_default, clear_env),
		cmocka_unit_test_setup(addr_from_env, clear_env),
		cmocka_unit_test_setup(addr_flag_wins, clear_env),
		cmocka_unit_test_setup(addr_invalid_scheme, clear_env),
		cmocka_unit_test_setup(token_file_newline, clear_env),
		cmocka_unit_test_setup(token_file_crlf, clear_env),
		cmocka_unit_test_setup(token_file_two_lines, clear_env),
		cmocka_unit_test_setup(token_file_missing, clear_env),
		cmocka_unit_test_setup(token_missing, clear_env),
		cmocka_unit_test_setup(connection_refused, clear_env),
		cmocka_unit_test_setup(connection_refused_env, clear_env),
		cmocka_unit_test_setup(client_option_before_command, clear_env),
		cmocka_unit_test_setup(client_option_equals_before_command,
		    clear_env),
		cmocka_unit_test_setup(client_option_without_value, clear_env),
		cmocka_unit_test_setup(client_option_without_command, clear_env),
		cmocka_unit_test_setup(connection_refused_flag_wins, clear_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
