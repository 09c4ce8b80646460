/*
 * The HTTP client that the zguard commands use to talk to the daemon, on
 * top of libcurl.
 *
 * Functions here return an exit code from cli.h, not a zg_err, and print
 * their own error line to stderr, because each caller is a command that
 * only passes the code on. Secrets (the token, request bodies, responses)
 * travel only in headers and bodies, never in a URL, and every buffer that
 * carried one is wiped before it is freed.
 */
#ifndef ZG_CLI_CLIENT_H
#define ZG_CLI_CLIENT_H

#include <stdbool.h>

#include <jansson.h>

/* The address used when neither --addr nor ZGUARD_ADDR is set. */
#define ZG_CLIENT_DEFAULT_ADDR "http://127.0.0.1:8420"

/* The largest token file and response body the client accepts, in bytes. */
#define ZG_CLIENT_MAX_TOKEN 4096
#define ZG_CLIENT_MAX_RESPONSE (16u * 1024 * 1024)

/* Seconds allowed to connect, and for a whole request. */
#define ZG_CLIENT_CONNECT_TIMEOUT 10
#define ZG_CLIENT_REQUEST_TIMEOUT 60

/* The flags every client command accepts. Strings are borrowed from argv. */
struct zg_cli_globals {
	const char *addr;       /* --addr URL */
	const char *token_file; /* --token-file FILE */
	const char *cacert;     /* --cacert FILE */
	bool json;              /* --json: print the server's JSON */
};

typedef struct zg_client zg_client;

/*
 * Returns the address to use: flag if not NULL, else $ZGUARD_ADDR if set and
 * not empty, else ZG_CLIENT_DEFAULT_ADDR. The result is borrowed.
 */
const char *zg_client_pick_addr(const char *flag);

/*
 * Reads a token from path into *out (a NUL-terminated string the caller
 * frees with zg_free_str_wiped). One trailing "\n" or "\r\n" is stripped.
 * An unreadable, empty or oversized file, or one whose token contains a
 * byte outside printable ASCII, prints an error and returns ZG_EXIT_IO.
 */
int zg_client_read_token_file(const char *path, char **out);

/*
 * Creates a client from the global flags. With need_token, the token comes
 * from --token-file, else $ZGUARD_TOKEN, and its absence is an error;
 * without, no token is read or sent. An address that is not an http:// or
 * https:// URL, or a missing token, prints an error and returns
 * ZG_EXIT_USAGE. On success *out must be freed with zg_client_free.
 */
int zg_client_new(const struct zg_cli_globals *g, bool need_token,
    zg_client **out);

/* Wipes the token and frees the client. NULL is accepted. */
void zg_client_free(zg_client *c);

/*
 * Sends one request and parses the JSON object that comes back. method is
 * "GET", "POST" or "DELETE"; path starts with "/v1/" and must not contain a
 * secret. body may be NULL; a POST without a body sends "{}".
 *
 * Returns ZG_EXIT_OK with *out set to the response object (the caller
 * decrefs it) when the status is 2xx. Otherwise prints the error to stderr
 * and returns ZG_EXIT_FAILED for an error response from the server, or
 * ZG_EXIT_IO when the server cannot be reached or its response is not a
 * JSON object. *status receives the HTTP status, or 0 if there was none.
 */
int zg_client_request_or_report(zg_client *c, const char *method,
    const char *path, json_t *body, long *status, json_t **out);

#endif
