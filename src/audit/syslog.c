/* RFC 5424 formatting and the TCP and UDP transports (see syslog.h). */
#include "audit/syslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define IO_TIMEOUT_MS 5000

zg_err
zg_syslog_parse_url(const char *url, zg_syslog_target *out, zg_errmsg *em)
{
	char host[128];
	const char *rest, *port_text;
	size_t host_len;

	memset(out, 0, sizeof(*out));
	if (strlen(url) >= sizeof(out->url))
		return zg_fail(em, ZG_ERR_CONFIG, "audit syslog URL is too long "
		    "(%zu bytes, at most %zu)", strlen(url), sizeof(out->url) - 1);
	snprintf(out->url, sizeof(out->url), "%s", url);
	if (strncmp(url, "tcp://", 6) == 0)
		out->proto = ZG_SYSLOG_TCP;
	else if (strncmp(url, "udp://", 6) == 0)
		out->proto = ZG_SYSLOG_UDP;
	else
		return zg_fail(em, ZG_ERR_CONFIG, "invalid audit syslog URL \"%s\": "
		    "expected tcp://HOST:PORT or udp://HOST:PORT", url);
	rest = url + 6;

	/* "[v6]:port" or "v4:port". */
	if (rest[0] == '[') {
		const char *bracket = strchr(rest, ']');
		if (bracket == NULL || bracket[1] != ':')
			goto bad_form;
		host_len = (size_t)(bracket - rest - 1);
		rest++;
		port_text = bracket + 2;
	} else {
		const char *colon = strrchr(rest, ':');
		if (colon == NULL)
			goto bad_form;
		host_len = (size_t)(colon - rest);
		port_text = colon + 1;
		/* An IPv6 address needs brackets to tell it from the port. */
		if (memchr(rest, ':', host_len) != NULL)
			goto bad_form;
	}
	if (host_len == 0 || host_len >= sizeof(host))
		goto bad_form;
	memcpy(host, rest, host_len);
	host[host_len] = '\0';

	char *end;
	errno = 0;
	unsigned long port = strtoul(port_text, &end, 10);
	if (port_text[0] < '0' || port_text[0] > '9' || *end != '\0' ||
	    errno != 0 || port == 0 || port > 65535)
		return zg_fail(em, ZG_ERR_CONFIG, "invalid port in audit syslog "
		    "URL \"%s\": expected 1 to 65535", url);

	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->addr;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		out->addr_len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		out->addr_len = sizeof(*v6);
	} else {
		return zg_fail(em, ZG_ERR_CONFIG, "invalid host \"%s\" in audit "
		    "syslog URL \"%s\": give an IP address such as 127.0.0.1 or "
		    "[::1], because host names are not resolved", host, url);
	}
	return ZG_OK;
bad_form:
	return zg_fail(em, ZG_ERR_CONFIG, "invalid audit syslog URL \"%s\": "
	    "expected tcp://HOST:PORT or udp://HOST:PORT with an IP address "
	    "as HOST", url);
}

/* Copies s into out, replacing what RFC 5424 forbids in header fields. */
static void
header_field(const char *s, size_t max, char *out, size_t outsz)
{
	size_t n = 0;
	for (; s[n] != '\0' && n < max && n + 1 < outsz; n++)
		out[n] = s[n] > ' ' && s[n] < 0x7f ? s[n] : '_';
	out[n] = '\0';
	if (n == 0)
		snprintf(out, outsz, "-");
}

void
zg_syslog_origin_init(zg_syslog_origin *origin)
{
	char name[256];
	if (gethostname(name, sizeof(name)) != 0)
		name[0] = '\0';
	name[sizeof(name) - 1] = '\0';
	header_field(name, 255, origin->hostname, sizeof(origin->hostname));
	snprintf(origin->procid, sizeof(origin->procid), "%ld", (long)getpid());
}

zg_err
zg_syslog_append_param_value(zg_buf *out, const char *value)
{
	zg_err err;
	for (const char *p = value; *p != '\0'; p++) {
		if ((*p == '"' || *p == '\\' || *p == ']') &&
		    (err = zg_buf_append_u8(out, '\\')) != ZG_OK)
			return err;
		if ((err = zg_buf_append_u8(out, (uint8_t)*p)) != ZG_OK)
			return err;
	}
	return ZG_OK;
}

zg_err
zg_syslog_format(zg_buf *out, unsigned facility, unsigned severity,
    const char *timestamp, const zg_syslog_origin *origin, const char *msgid,
    const zg_sd_param *params, size_t n_params, const char *msg,
    size_t max_len)
{
	zg_err err;
	char head[700], id[ZG_SYSLOG_MSGID_MAX + 1], ts[64];
	size_t start = out->len;

	header_field(msgid, ZG_SYSLOG_MSGID_MAX, id, sizeof(id));
	header_field(timestamp ? timestamp : "", sizeof(ts) - 1, ts, sizeof(ts));
	snprintf(head, sizeof(head), "<%u>1 %s %s zguard %s %s ",
	    facility * 8 + severity, ts, origin->hostname, origin->procid, id);
	if ((err = zg_buf_append_str(out, head)) != ZG_OK)
		return err;
	if (n_params == 0) {
		err = zg_buf_append_str(out, "-");
	} else {
		err = zg_buf_append_str(out, "[" ZG_SYSLOG_SD_ID);
		for (size_t i = 0; i < n_params && err == ZG_OK; i++) {
			const zg_sd_param *p = &params[i];
			if ((err = zg_buf_append_u8(out, ' ')) != ZG_OK ||
			    (err = zg_buf_append_str(out, p->name)) != ZG_OK ||
			    (err = zg_buf_append_str(out, "=\"")) != ZG_OK ||
			    (err = zg_syslog_append_param_value(out,
			    p->value ? p->value : "")) != ZG_OK)
				break;
			err = zg_buf_append_u8(out, '"');
		}
		if (err == ZG_OK)
			err = zg_buf_append_u8(out, ']');
	}
	if (err == ZG_OK && msg != NULL && msg[0] != '\0' &&
	    (err = zg_buf_append_u8(out, ' ')) == ZG_OK)
		err = zg_buf_append_str(out, msg);
	if (err != ZG_OK)
		return err;
	if (max_len > 0 && out->len - start > max_len)
		out->len = start + max_len;
	return ZG_OK;
}

void
zg_syslog_conn_init(zg_syslog_conn *c, const zg_syslog_target *target)
{
	c->target = *target;
	c->fd = -1;
}

void
zg_syslog_conn_close(zg_syslog_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Connects with a timeout, so that an unreachable collector cannot stall
 * the forwarder for the kernel's default of minutes. */
static zg_err
conn_open(zg_syslog_conn *c, zg_errmsg *em)
{
	const zg_syslog_target *t = &c->target;
	int type = t->proto == ZG_SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int fd = socket(t->addr.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return zg_fail(em, ZG_ERR_IO, "cannot create a socket for %s: %s",
		    t->url, strerror(errno));
	if (connect(fd, (const struct sockaddr *)&t->addr, t->addr_len) != 0) {
		int e = errno;
		if (e == EINPROGRESS) {
			struct pollfd pfd = {fd, POLLOUT, 0};
			socklen_t len = sizeof(e);
			int n = poll(&pfd, 1, IO_TIMEOUT_MS);
			if (n == 0)
				e = ETIMEDOUT;
			else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
			    &len) != 0)
				e = errno;
		}
		if (e != 0) {
			close(fd);
			return zg_fail(em, ZG_ERR_IO, "cannot connect to %s: %s",
			    t->url, strerror(e));
		}
	}
	/* Blocking sends, bounded by a timeout. */
	struct timeval tv = {IO_TIMEOUT_MS / 1000, 0};
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
		int e = errno;
		close(fd);
		return zg_fail(em, ZG_ERR_IO, "cannot set up the socket for %s: %s",
		    t->url, strerror(e));
	}
	c->fd = fd;
	return ZG_OK;
}

bool
zg_syslog_conn_alive(zg_syslog_conn *c)
{
	if (c->fd < 0 || c->target.proto != ZG_SYSLOG_TCP)
		return c->fd >= 0;
	char byte;
	ssize_t n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return true;
	zg_syslog_conn_close(c);
	return false;
}

zg_err
zg_syslog_send(zg_syslog_conn *c, const uint8_t *msg, size_t len,
    zg_errmsg *em)
{
	zg_err err;
	char frame[32];
	struct iovec iov[2];
	struct msghdr mh;
	size_t total, sent = 0;

	if (c->fd < 0 && (err = conn_open(c, em)) != ZG_OK)
		return err;
	memset(&mh, 0, sizeof(mh));
	if (c->target.proto == ZG_SYSLOG_TCP) {
		int n = snprintf(frame, sizeof(frame), "%zu ", len);
		iov[0] = (struct iovec){frame, (size_t)n};
		iov[1] = (struct iovec){(void *)msg, len};
		mh.msg_iovlen = 2;
		total = (size_t)n + len;
	} else {
		iov[0] = (struct iovec){(void *)msg, len};
		mh.msg_iovlen = 1;
		total = len;
	}
	mh.msg_iov = iov;
	/* A stream socket may take part of the frame; send the rest. */
	while (sent < total) {
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno == EAGAIN ? ETIMEDOUT : errno;
			zg_syslog_conn_close(c);
			return zg_fail(em, ZG_ERR_IO, "cannot send to %s: %s",
			    c->target.url, strerror(e));
		}
		sent += (size_t)n;
		size_t skip = (size_t)n;
		while (mh.msg_iovlen > 0 && skip >= mh.msg_iov[0].iov_len) {
			skip -= mh.msg_iov[0].iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			struct iovec *v = &mh.msg_iov[0];
			v->iov_base = (char *)v->iov_base + skip;
			v->iov_len -= skip;
		}
	}
	return ZG_OK;
}
