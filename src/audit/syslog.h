/*
 * RFC 5424 syslog messages and their transport to one collector (syslog.c).
 *
 * A message reads
 *
 *   <PRI>1 TIMESTAMP HOSTNAME zguard PROCID MSGID [SD-ID name="value" ...] MSG
 *
 * TCP frames each message by octet counting (RFC 6587 section 3.4.1:
 * "LEN SP MSG"); UDP sends one message per datagram.
 */
#ifndef ZG_AUDIT_SYSLOG_H
#define ZG_AUDIT_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "base/buf.h"
#include "base/errmsg.h"

#define ZG_SYSLOG_FACILITY_AUTHPRIV 10
#define ZG_SYSLOG_SEVERITY_WARNING 4
#define ZG_SYSLOG_SEVERITY_NOTICE 5
/*
 * Structured data id. NOTE: 32473 is the example enterprise number of
 * RFC 5424's examples, not one registered for zguard.
 */
#define ZG_SYSLOG_SD_ID "zguard@32473"
/* Largest datagram the UDP transport sends; longer messages are cut. */
#define ZG_SYSLOG_UDP_MAX 8000
/* RFC 5424 limits MSGID to 32 printable ASCII characters. */
#define ZG_SYSLOG_MSGID_MAX 32

enum zg_syslog_proto {
	ZG_SYSLOG_TCP = 0,
	ZG_SYSLOG_UDP,
};

/* A collector address parsed from "tcp://HOST:PORT" or "udp://HOST:PORT". */
typedef struct zg_syslog_target {
	enum zg_syslog_proto proto;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char url[256];             /* as configured, for messages */
} zg_syslog_target;

/* One SD-PARAM; name must be a valid SD-NAME (no '=', ' ', ']' or '"'). */
typedef struct zg_sd_param {
	const char *name;
	const char *value;
} zg_sd_param;

/* Fields of the header that stay the same for every message. */
typedef struct zg_syslog_origin {
	char hostname[256];        /* "-" if unknown */
	char procid[32];
} zg_syslog_origin;

/* A connection to a collector; fd -1 while not connected. */
typedef struct zg_syslog_conn {
	zg_syslog_target target;
	int fd;
} zg_syslog_conn;

/*
 * Parses url. HOST must be an IP literal (an IPv6 one in brackets, as in
 * "tcp://[::1]:6514") because the daemon never resolves names; PORT must
 * be 1 to 65535. ZG_ERR_CONFIG with a message naming url otherwise.
 */
zg_err zg_syslog_parse_url(const char *url, zg_syslog_target *out,
    zg_errmsg *em);

/* Fills origin from gethostname(2) and getpid(2). */
void zg_syslog_origin_init(zg_syslog_origin *origin);

/* Appends value with '"', '\' and ']' escaped (RFC 5424 section 6.3.3). */
zg_err zg_syslog_append_param_value(zg_buf *out, const char *value);

/*
 * Appends one message to out. timestamp is RFC 3339 text, or NULL for
 * "-"; msgid is cut to ZG_SYSLOG_MSGID_MAX and characters outside
 * printable ASCII become '_'. With max_len above 0 the message is cut to
 * at most max_len bytes, which shortens msg first because it comes last.
 */
zg_err zg_syslog_format(zg_buf *out, unsigned facility, unsigned severity,
    const char *timestamp, const zg_syslog_origin *origin, const char *msgid,
    const zg_sd_param *params, size_t n_params, const char *msg,
    size_t max_len);

/* Sets up c for target without connecting. */
void zg_syslog_conn_init(zg_syslog_conn *c, const zg_syslog_target *target);

/*
 * Sends one formatted message, connecting first if needed (connect and
 * send each time out after 5 seconds). TCP adds the octet-counting frame.
 * On failure the connection is closed, so the next call reconnects, and
 * em names the collector and the error.
 */
zg_err zg_syslog_send(zg_syslog_conn *c, const uint8_t *msg, size_t len,
    zg_errmsg *em);

/*
 * Checks that a TCP connection was not closed by the collector, closing it
 * if it was. A collector never sends data, so anything readable means end
 * of stream or an error. Returns false after closing.
 */
bool zg_syslog_conn_alive(zg_syslog_conn *c);

void zg_syslog_conn_close(zg_syslog_conn *c);

#endif
